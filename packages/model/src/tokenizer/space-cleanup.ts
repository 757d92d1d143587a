import type { SpaceCleanup } from './vocabulary.js';

/** One pass: literal patterns, each starting with a space, replaced left to right. */
type Pass = readonly (readonly [pattern: string, replacement: string])[];

/**
 * llama.cpp's `clean_spaces` in `llama_detokenize`: a space before `?!.,` goes, `" ' "` becomes
 * `"'"`, and a space before `'s`, `'m`, `'re`, `'ve` goes (not before `'t`, `'d`, `'ll`).
 */
const LLAMA_PASSES: readonly Pass[] = [
  [
    [' ?', '?'],
    [' !', '!'],
    [' .', '.'],
    [' ,', ','],
  ],
  [[" ' ", "'"]],
  [
    [" 's", "'s"],
    [" 'm", "'m"],
    [" 're", "'re"],
    [" 've", "'ve"],
  ],
];

/** transformers' `clean_up_tokenization`, one `str.replace` after another. */
const HF_PASSES: readonly Pass[] = [
  [[' .', '.']],
  [[' ?', '?']],
  [[' !', '!']],
  [[' ,', ',']],
  [[" ' ", "'"]],
  [[" n't", "n't"]],
  [[" 'm", "'m"]],
  [[" 's", "'s"]],
  [[" 've", "'ve"]],
  [[" 're", "'re"]],
];

/**
 * One replace-all pass over text that arrives in pieces: holds back a space, and what follows it,
 * only while they may still become one of the patterns.
 */
class StreamingPass {
  private held = '';

  constructor(private readonly pass: Pass) {}

  push(text: string): string {
    let out = '';
    for (const char of text) out += this.feed(char);
    return out;
  }

  flush(): string {
    let out = '';
    while (this.held !== '') {
      // No pattern can complete: the held space stays, and what followed it is scanned again.
      const rest = this.held.slice(1);
      out += this.held[0];
      this.held = '';
      out += this.push(rest);
    }
    return out;
  }

  private feed(char: string): string {
    if (this.held === '') {
      if (char !== ' ') return char;
      this.held = ' ';
      return '';
    }
    const candidate = this.held + char;
    const full = this.pass.find(([pattern]) => pattern === candidate);
    if (full) {
      this.held = '';
      return full[1];
    }
    if (this.pass.some(([pattern]) => pattern.startsWith(candidate))) {
      this.held = candidate;
      return '';
    }
    this.held = '';
    return candidate[0] + this.push(candidate.slice(1));
  }
}

/**
 * A space clean-up applied to text as it arrives: {@link SpaceCleaner.push} returns the cleaned
 * text that no later text can change, {@link SpaceCleaner.flush} the rest. Pushing a text in any
 * number of pieces and flushing gives the same as pushing it whole.
 */
export class SpaceCleaner {
  private readonly passes: StreamingPass[];

  constructor(cleanup: SpaceCleanup) {
    const passes = cleanup === 'llama' ? LLAMA_PASSES : cleanup === 'hf' ? HF_PASSES : [];
    this.passes = passes.map((pass) => new StreamingPass(pass));
  }

  push(text: string): string {
    return this.passes.reduce((piece, pass) => pass.push(piece), text);
  }

  flush(): string {
    // What one pass lets go at the end still goes through the passes after it.
    return this.passes.reduce((rest, pass) => pass.push(rest) + pass.flush(), '');
  }
}

/** Applies a space clean-up to a whole decoded text. */
export function cleanSpaces(text: string, cleanup: SpaceCleanup): string {
  if (cleanup === 'none') return text;
  const cleaner = new SpaceCleaner(cleanup);
  return cleaner.push(text) + cleaner.flush();
}
