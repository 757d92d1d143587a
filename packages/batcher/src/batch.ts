import type { BatchContext } from './options.js';

/** Whoever is told when a record's signal aborts. @internal */
export interface AbortSink<Rec, Res> {
  abort(entry: Entry<Rec, Res>): void;
}

// Life of a record: parked (waiting for room) → queued → ready (in a prefetched batch) → running
// → done. Aborted records become done wherever they are and are skipped when reached.
/** Accepted, waiting for room in the queue. @internal */
export const PARKED = 0;
/** In the queue, not yet in a batch. @internal */
export const QUEUED = 1;
/** In a closed batch that has not run yet. @internal */
export const READY = 2;
/** In the batch the process function is running. @internal */
export const RUNNING = 3;
/** Settled (resolved, rejected or aborted). @internal */
export const DONE = 4;

/**
 * One submitted record. Kept small, since a burst holds many of them: what only abortable
 * records need lives in an {@link AbortLink}.
 * @internal
 */
export class Entry<Rec, Res> {
  state = QUEUED;
  constructor(
    readonly record: Rec,
    readonly cost: number,
    /** When `submit` accepted it (`performance.now()` ms): the start of its wait. */
    readonly time: number,
    readonly resolve: (value: Res) => void,
    readonly reject: (reason: unknown) => void,
    readonly link: AbortLink<Rec, Res> | undefined,
  ) {}
}

/**
 * Ties an abortable record to its signal. It is the `abort` listener itself (`handleEvent`), so
 * no closure is made per record.
 * @internal
 */
export class AbortLink<Rec, Res> {
  /** The record this link aborts; set right after the record is made. */
  entry: Entry<Rec, Res> | undefined = undefined;
  /** The batch running the record, once it runs. */
  batch: Batch<Rec, Res> | undefined = undefined;
  constructor(
    readonly owner: AbortSink<Rec, Res>,
    readonly signal: AbortSignal,
  ) {}

  /** The `abort` listener of `signal`. */
  handleEvent(): void {
    this.owner.abort(this.entry!);
  }
}

/** A closed batch; `entries[i]` gets `results[i]` once it runs. @internal */
export class Batch<Rec, Res> {
  /** Records still waiting for this batch's result (not aborted). */
  live = 0;
  private controller: AbortController | undefined = undefined;
  private abandoned = false;
  constructor(
    public entries: Entry<Rec, Res>[],
    public cost: number,
  ) {}

  /** Aborts once every record of the running batch was aborted. */
  // The controller is made on first use: most functions never read the signal.
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abandoned) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** Marks the batch as no longer awaited by anyone and aborts its signal. */
  abandon(): void {
    this.abandoned = true;
    this.controller?.abort();
  }
}

/** The context given to the process function: a view of its batch. @internal */
export class RunContext<Rec, Res> implements BatchContext {
  constructor(private readonly batch: Batch<Rec, Res>) {}
  get signal(): AbortSignal {
    return this.batch.signal;
  }
  get cost(): number {
    return this.batch.cost;
  }
}

/** Whether `value` has a callable `then`, as `await` would treat it. @internal */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
