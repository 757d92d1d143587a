export { bytesToByteLevel } from './byte-level.js';
export type { DecodeStream } from './decode-stream.js';
export { SUPPORTED_PRE_TOKENIZERS } from './pre-tokenizers.js';
export { type GgufTokenizerOptions, ggufTokenizerMetadata } from './to-gguf.js';
export { TokenType } from './token-type.js';
export {
  type DecodeOptions,
  type DecodeStreamOptions,
  type EncodeOptions,
  Tokenizer,
} from './tokenizer.js';
