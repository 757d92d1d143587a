import { type TokenPieces, utf8Decoder } from './detokenize.js';
import { SpaceCleaner } from './space-cleanup.js';
import type { Vocabulary } from './vocabulary.js';

/**
 * Turns tokens into text one at a time, as they are generated.
 *
 * Each {@link DecodeStream.push} returns only text that no later token can change: never part of
 * a UTF-8 character (a character split over byte-level tokens or `<0xXX>` byte tokens waits for
 * its last byte), and, where the vocabulary cleans up spaces before punctuation, never a space
 * that the next token could remove. The concatenation of every push and the final
 * {@link DecodeStream.flush} equals `decode` of all the tokens with the same options.
 */
export interface DecodeStream {
  /** Adds one token; returns the text it completes (often `''`). */
  push(id: number): string;
  /** Returns the text still held back (an incomplete character becomes U+FFFD). */
  flush(): string;
}

/** A {@link DecodeStream} over token pieces (byte-level and SentencePiece vocabularies). */
export class PieceDecodeStream implements DecodeStream {
  private readonly decoder = utf8Decoder();
  private readonly cleaner: SpaceCleaner;
  private first: boolean;

  constructor(
    private readonly vocab: Vocabulary,
    private readonly pieces: TokenPieces,
    private readonly skipSpecialTokens: boolean,
    /** The tokens continue earlier text: the first one keeps its leading space. */
    continuation = false,
  ) {
    this.cleaner = new SpaceCleaner(vocab.cleanup);
    this.first = !continuation;
  }

  push(id: number): string {
    let bytes = this.pieces.piece(id, !this.skipSpecialTokens);
    if (this.first && this.vocab.removeLeadingSpace && bytes[0] === 0x20) bytes = bytes.subarray(1);
    this.first = false;
    return this.cleaner.push(this.decoder.decode(bytes, { stream: true }));
  }

  flush(): string {
    this.first = true;
    return this.cleaner.push(this.decoder.decode()) + this.cleaner.flush();
  }
}

/**
 * A {@link DecodeStream} for vocabularies decoded by their tokenizer.json decoder, which has no
 * per-token pieces. It keeps a window of ids: the tokens behind the text returned last (the
 * prefix) and those after them. Each push decodes the prefix and the whole window and returns what
 * the window adds to the prefix, unless that is nothing, ends in U+FFFD (an incomplete character)
 * or does not extend the prefix's text (the decoder rewrote it); then it holds back and the window
 * grows. When it returns text, the window moves on to start at the tokens that text came from, so
 * decoders that treat the first token specially (a stripped leading space) see the same first
 * token in both decodes. Each push decodes a few tokens, not the whole stream (as text-generation-
 * inference's `decode_token` does, with its prefix and read offsets).
 */
export class RedecodeStream implements DecodeStream {
  private ids: number[] = [];
  /** Where the prefix's tokens start in `ids`. */
  private prefixStart = 0;
  /** Where the prefix's tokens end (and the tokens not yet returned start). */
  private readStart = 0;

  constructor(private readonly decodeAll: (ids: number[]) => string) {}

  push(id: number): string {
    this.ids.push(id);
    const added = this.added();
    if (added === undefined || added === '' || added.endsWith('\uFFFD')) return '';
    this.prefixStart = this.readStart;
    this.readStart = this.ids.length;
    // Only the window is ever decoded again.
    if (this.prefixStart > 64) {
      this.ids = this.ids.slice(this.prefixStart);
      this.readStart -= this.prefixStart;
      this.prefixStart = 0;
    }
    return added;
  }

  flush(): string {
    const added = this.added() ?? '';
    this.ids = [];
    this.prefixStart = 0;
    this.readStart = 0;
    return added;
  }

  /** The text the window adds to its prefix, or undefined when it does not extend the prefix. */
  private added(): string | undefined {
    const window = this.ids.slice(this.prefixStart);
    const prefix =
      this.readStart > this.prefixStart
        ? this.decodeAll(window.slice(0, this.readStart - this.prefixStart))
        : '';
    const text = this.decodeAll(window);
    return text.startsWith(prefix) ? text.slice(prefix.length) : undefined;
  }
}
