/**
 * Streams generated text past a set of stop strings: text is released only once no stop string can
 * begin in it, and generation stops at the first stop string, which is never released.
 */
export class StopStringFilter {
  private held = '';
  private readonly maxLength: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLength = stops.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /**
   * Adds generated text. Returns what can be released and, when a stop string has appeared, which
   * one: then `text` ends just before it and nothing more should be pushed.
   */
  push(delta: string): { text: string; stop?: string } {
    if (this.stops.length === 0) return { text: delta };
    const text = this.held + delta;
    // Held text holds no whole stop string, so a match ends in `delta`: search from where it could start.
    const from = Math.max(0, this.held.length - this.maxLength + 1);
    let at = -1;
    let stop: string | undefined;
    for (const s of this.stops) {
      const i = text.indexOf(s, from);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        stop = s;
      }
    }
    if (stop !== undefined) {
      this.held = '';
      return { text: text.slice(0, at), stop };
    }
    const keep = this.partialMatchLength(text);
    this.held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep) };
  }

  /** Text held back because a stop string could have begun in it; call when generation ends. */
  flush(): string {
    const text = this.held;
    this.held = '';
    return text;
  }

  /** Length of the longest end of `text` that is the beginning of a stop string. */
  private partialMatchLength(text: string): number {
    for (let n = Math.min(this.maxLength - 1, text.length); n > 0; n--) {
      const tail = text.slice(text.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) return n;
    }
    return 0;
  }
}
