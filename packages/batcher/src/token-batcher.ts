import { type BatcherStats, Core } from './batcher-core.js';
import { resolveOptions, type SubmitOptions, type TokenBatcherOptions } from './options.js';

/**
 * Groups records submitted one at a time into batches bounded by count (`maxBatchSize`) and by
 * estimated cost (`targetBatchCost`, e.g. tokens), runs them through one function, one batch at a
 * time, and settles each record's promise with its own entry of the result.
 *
 * @example
 * ```ts
 * const batcher = new TokenBatcher({
 *   processFn: async (prompts: string[]) => prompts.map((p) => p.length),
 *   costEstimator: (prompt) => prompt.length,
 *   targetBatchCost: 4096,
 * });
 * await batcher.submit('hello'); // 5
 * await batcher.close();
 * ```
 */
export class TokenBatcher<Rec, Res> {
  readonly #core: Core<Rec, Res>;

  /**
   * @param options the process function and limits, see {@link TokenBatcherOptions}
   * @throws BatcherOptionError (code `BATCHER_INVALID_OPTION`) naming the option when an option
   *   is missing, out of range, not an integer where one is needed, or given under both names of
   *   an alias pair
   */
  constructor(options: TokenBatcherOptions<Rec, Res>) {
    this.#core = new Core(resolveOptions(options));
  }

  /**
   * Submits one record. Its cost is `estimatedCost` (or `estimatedTokens`), else the estimator's
   * answer, else `defaultCost`.
   *
   * @returns a promise of the entry of the function's result that matches this record. It
   *   rejects with `BatcherClosedError` after `close()`, `BatcherQueueFullError` when the queue is
   *   full and `onFull` is `'reject'`, `BatcherOptionError` for a bad estimate, the signal's
   *   reason when aborted, or the batch's error (what the function threw, or
   *   `BatcherResultLengthError` / `BatcherResultTypeError`).
   */
  submit(record: Rec, options?: SubmitOptions): Promise<Res> {
    return this.#core.submit(record, options);
  }

  /**
   * Stops intake (later `submit` calls reject with `BatcherClosedError`), runs what is queued
   * without waiting for `minBatchSize` or the timeout, and resolves once every accepted record
   * has settled. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#core.closing;
  }

  /** A fresh snapshot of counters and gauges, see {@link BatcherStats}. */
  get stats(): BatcherStats {
    return this.#core.stats();
  }
}
