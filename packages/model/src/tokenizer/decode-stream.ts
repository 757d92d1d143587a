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
 * A {@link DecodeStream} for vocabularies decoded by their tokenizer.json decoder: decodes all
 * tokens so far at each push and returns what was added, holding back while the text ends in
 * U+FFFD (an incomplete character) or does not extend what was returned. Quadratic in the length
 * of the stream; exact when the decoder never rewrites earlier text.
 */
export class RedecodeStream implements DecodeStream {
  private readonly ids: number[] = [];
  private emitted = '';

  constructor(private readonly decodeAll: (ids: number[]) => string) {}

  push(id: number): string {
    this.ids.push(id);
    const text = this.decodeAll(this.ids);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.emitted)) return '';
    const added = text.slice(this.emitted.length);
    this.emitted = text;
    return added;
  }

  flush(): string {
    const text = this.decodeAll(this.ids);
    const added = text.startsWith(this.emitted) ? text.slice(this.emitted.length) : '';
    this.ids.length = 0;
    this.emitted = '';
    return added;
  }
}
