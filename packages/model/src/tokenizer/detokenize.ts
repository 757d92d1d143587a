import { ModelArgumentError } from '../errors.js';
import { byteLevelToBytes } from './byte-level.js';
import { cleanSpaces } from './space-cleanup.js';
import { SPECIAL_ATTRS, TokenAttr } from './token-type.js';
import type { Vocabulary } from './vocabulary.js';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * The bytes each token decodes to, as llama.cpp's `token_to_piece` finds them: control and unknown
 * tokens are their text, or nothing without special tokens; user-defined tokens are their text;
 * normal tokens are their byte-level bytes or, for SentencePiece, their text with `▁` as a space;
 * byte tokens `<0xXX>` are that byte; unused tokens are nothing.
 */
export class TokenPieces {
  private readonly cache: (Uint8Array | undefined)[] = [];

  constructor(private readonly vocab: Vocabulary) {}

  /**
   * The bytes of token `id`; control and unknown tokens give their text only when `special`.
   * @throws RangeError when `id` is not a token id
   */
  piece(id: number, special: boolean): Uint8Array {
    const attr = this.vocab.attrs[id];
    if (!Number.isInteger(id) || attr === undefined) {
      throw new ModelArgumentError(
        `token id ${id} is outside the vocabulary (0..${this.vocab.tokens.length - 1})`,
        'MODEL_TOKEN_OUT_OF_RANGE',
      );
    }
    if (!special && attr & SPECIAL_ATTRS) return EMPTY;
    let bytes = this.cache[id];
    if (bytes === undefined) {
      bytes = this.compute(this.vocab.tokens[id] ?? '', attr);
      this.cache[id] = bytes;
    }
    return bytes;
  }

  private compute(text: string, attr: number): Uint8Array {
    if (attr & (SPECIAL_ATTRS | TokenAttr.USER_DEFINED)) return encoder.encode(text);
    if (attr & TokenAttr.NORMAL) {
      return this.vocab.style === 'byte-level'
        ? byteLevelToBytes(text)
        : encoder.encode(text.replaceAll('▁', ' '));
    }
    if (attr & TokenAttr.BYTE) return Uint8Array.of(Number.parseInt(text.slice(3, 5), 16) || 0);
    return EMPTY;
  }
}

/**
 * A UTF-8 decoder that keeps a leading U+FEFF (llama.cpp does not strip it) and writes U+FFFD for
 * each malformed sequence.
 */
export function utf8Decoder(): InstanceType<typeof TextDecoder> {
  return new TextDecoder('utf-8', { ignoreBOM: true });
}

/**
 * Concatenates the pieces of `ids` as llama.cpp's `llama_detokenize` does with `remove_special`
 * off: the first token loses one leading space when the vocabulary adds a space prefix (even when
 * that token is a BOS that decodes to nothing), then the clean-up applies to the whole text.
 */
export function detokenize(
  vocab: Vocabulary,
  pieces: TokenPieces,
  ids: readonly number[],
  skipSpecialTokens: boolean,
): string {
  const parts: Uint8Array[] = [];
  let length = 0;
  ids.forEach((id, i) => {
    let bytes = pieces.piece(id, !skipSpecialTokens);
    if (i === 0 && vocab.removeLeadingSpace && bytes[0] === 0x20) bytes = bytes.subarray(1);
    parts.push(bytes);
    length += bytes.byteLength;
  });
  const all = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.byteLength;
  }
  return cleanSpaces(utf8Decoder().decode(all), vocab.cleanup);
}
