// Shared by this app's tests: tiny synthetic models written to a temporary directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  byteLevelTokenizer,
  GgmlType,
  type SyntheticModelOptions,
  syntheticGguf,
  writeFileChunks,
} from '@x/model';

/** A chat template that writes each message as `<role>content` and opens the assistant's turn. */
export const CHAT_TEMPLATE =
  '{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}' +
  '{% if add_generation_prompt %}<assistant>{% endif %}';

/**
 * A llama model of two layers (4 heads, 2 KV heads, head dim 16, context 512, Q8_0 weights) with a
 * byte-level vocabulary (token b is byte b, 256 is end-of-sequence) and {@link CHAT_TEMPLATE}.
 */
export const TINY: SyntheticModelOptions = {
  architecture: 'llama',
  tokenizer: byteLevelTokenizer({ chatTemplate: CHAT_TEMPLATE }),
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 512,
  weightType: GgmlType.Q8_0,
  logitScale: 4,
  seed: 11,
};

/** Writes {@link TINY}, changed by `options`, to a new temporary directory; returns its path. */
export async function writeTinyModel(
  options: Partial<SyntheticModelOptions> = {},
  name = 'tiny.gguf',
): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'xinfer-cli-')), name);
  await writeFileChunks(path, syntheticGguf({ ...TINY, ...options }));
  return path;
}
