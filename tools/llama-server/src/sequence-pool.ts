// The context's sequences as slots: a request holds one from its first prompt token to its last
// generated token, and waits in line when all are taken.
import type { LlamaContextSequence } from 'node-llama-cpp';

/**
 * A fixed set of sequences of one context, handed out first come, first served. A released
 * sequence's KV cells are cleared before the next request gets it.
 */
export class SequencePool {
  readonly #free: LlamaContextSequence[];
  readonly #waiting: Array<(sequence: LlamaContextSequence) => void> = [];
  readonly #size: number;

  constructor(sequences: readonly LlamaContextSequence[]) {
    this.#free = [...sequences];
    this.#size = sequences.length;
  }

  /** Sequences in all. */
  get size(): number {
    return this.#size;
  }

  /** Sequences no request holds. */
  get free(): number {
    return this.#free.length;
  }

  /** Requests waiting for a sequence. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * A free sequence, at once or once one is released. Rejects with `signal.reason` when `signal`
   * aborts first; the request then leaves the line.
   */
  acquire(signal?: AbortSignal): Promise<LlamaContextSequence> {
    signal?.throwIfAborted();
    const sequence = this.#free.pop();
    if (sequence) return Promise.resolve(sequence);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(take);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal?.reason);
      };
      const take = (s: LlamaContextSequence) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(s);
      };
      this.#waiting.push(take);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Gives `sequence` back: its history is erased, then the longest-waiting request gets it. */
  async release(sequence: LlamaContextSequence): Promise<void> {
    await sequence.clearHistory();
    const next = this.#waiting.shift();
    if (next) next(sequence);
    else this.#free.push(sequence);
  }
}
