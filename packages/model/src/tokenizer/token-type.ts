/**
 * Token types as GGUF stores them in `tokenizer.ggml.token_type` (`llama_token_type` in llama.cpp,
 * `gguf.TokenType` in gguf-py).
 */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  /** A control token (`<s>`, `<|eot_id|>`): parsed from text as one token, dropped when decoding
   * with `skipSpecialTokens`. */
  CONTROL: 3,
  /** A user-defined token: parsed from text as one token and always decoded as its text. */
  USER_DEFINED: 4,
  UNUSED: 5,
  /** A SentencePiece byte-fallback token `<0xXX>`. */
  BYTE: 6,
} as const;

/** A GGUF token type id. */
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

/** Token attribute bits, as llama.cpp derives them from the token types (`llama_token_attr`). */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
} as const;

/** The attribute bits llama.cpp gives a token of GGUF type `type`. */
export function tokenTypeToAttr(type: number): number {
  switch (type) {
    case TokenType.UNKNOWN:
      return TokenAttr.UNKNOWN;
    case TokenType.UNUSED:
      return TokenAttr.UNUSED;
    case TokenType.NORMAL:
      return TokenAttr.NORMAL;
    case TokenType.CONTROL:
      return TokenAttr.CONTROL;
    case TokenType.USER_DEFINED:
      return TokenAttr.USER_DEFINED;
    case TokenType.BYTE:
      return TokenAttr.BYTE;
    default:
      return TokenAttr.UNDEFINED;
  }
}

/** Tokens that are split out of the text before the model sees it (llama.cpp's special cache). */
export const PARSED_AS_ONE_TOKEN = TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN;

/** Tokens whose text is left out of a decode without special tokens. */
export const SPECIAL_ATTRS = TokenAttr.CONTROL | TokenAttr.UNKNOWN;

/** Matches a SentencePiece byte-fallback token such as `<0x0A>`. */
export const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;
