import {
  AbortLink,
  type AbortSink,
  Batch,
  DONE,
  Entry,
  isThenable,
  PARKED,
  QUEUED,
  READY,
  RUNNING,
  RunContext,
} from './batch.js';
import {
  BatcherClosedError,
  BatcherOptionError,
  BatcherQueueFullError,
  BatcherResultLengthError,
  BatcherResultTypeError,
} from './errors.js';
import { Fifo } from './fifo.js';
import { pickAlias, type ResolvedOptions, type SubmitOptions } from './options.js';

// One shared promise executor instead of a closure per record: `new Promise(capture)` leaves the
// settle functions here, and `submit` moves them into the record straight away.
let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (reason: unknown) => void = () => {};
function capture(resolve: (value: never) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve as (value: unknown) => void;
  capturedReject = reject;
}

/** A snapshot of what the batcher has done and holds. Means are 0 before the first batch. */
export interface BatcherStats {
  /** Batches handed to the process function. */
  batches: number;
  /** Records handed to the process function. */
  records: number;
  /** `records / batches`. */
  meanBatchSize: number;
  /** Mean total estimated cost of a batch. */
  meanBatchCost: number;
  /** Records pending: queued or in a prefetched batch (what `maxQueueSize` bounds). */
  queueDepth: number;
  /** Batches closed and waiting for the function (at most `prefetchBatches`). */
  prefetchedBatches: number;
  /** Records accepted by `submit` but held back until the queue has room (`onFull: 'wait'`). */
  waitingForRoom: number;
  /** Whether the process function is running a batch now. */
  running: boolean;
  /** Mean time from `submit` to the start of the record's batch, in ms. */
  meanWaitMs: number;
  /** Longest time from `submit` to the start of a record's batch, in ms. */
  maxWaitMs: number;
  /** Batches whose function threw, rejected or returned a bad result. */
  failedBatches: number;
  /** Records whose signal aborted before they settled. */
  abortedRecords: number;
  /** Estimator calls that threw or returned a non-finite or negative cost. */
  estimateFailures: number;
}

/**
 * The engine behind {@link TokenBatcher}; kept apart so its internals stay off the public class.
 * @internal
 */
export class Core<Rec, Res> implements AbortSink<Rec, Res> {
  private readonly queue = new Fifo<Entry<Rec, Res>>();
  private readonly parked = new Fifo<Entry<Rec, Res>>();
  private readonly ready: Batch<Rec, Res>[] = [];
  private queuedCount = 0;
  private queuedCost = 0;
  private readyCount = 0;
  private parkedCount = 0;
  private running: Batch<Rec, Res> | undefined = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private pumpScheduled = false;
  private burstNow = 0;
  private pumping = false;
  private unsettled = 0;
  closing = false;
  private closed: Promise<void> | undefined = undefined;
  private resolveClosed: () => void = () => {};
  private batches = 0;
  private records = 0;
  private totalCost = 0;
  private totalWaitMs = 0;
  private maxWaitMs = 0;
  private failedBatches = 0;
  private abortedRecords = 0;
  private estimateFailures = 0;
  private readonly pumpTask = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pump();
  };

  constructor(private readonly o: ResolvedOptions<Rec, Res>) {}

  submit(record: Rec, options: SubmitOptions | undefined): Promise<Res> {
    if (this.closing) return Promise.reject(new BatcherClosedError());
    const o = this.o;
    let cost: number | undefined;
    let signal: AbortSignal | undefined;
    let onFull = o.onFull;
    if (options !== undefined) {
      try {
        cost = pickAlias(
          'estimatedCost',
          options.estimatedCost,
          'estimatedTokens',
          options.estimatedTokens,
        );
      } catch (error) {
        return Promise.reject(error);
      }
      if (cost !== undefined && !(Number.isFinite(cost) && cost >= 0)) {
        return Promise.reject(
          new BatcherOptionError(
            'estimatedCost',
            `estimatedCost must be a finite number of at least 0, got ${String(cost)}`,
          ),
        );
      }
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (options.onFull !== undefined) {
        onFull = options.onFull;
        if (onFull !== 'wait' && onFull !== 'reject') {
          return Promise.reject(
            new BatcherOptionError(
              'onFull',
              `onFull must be 'wait' or 'reject', got ${String(onFull)}`,
            ),
          );
        }
      }
    }
    const full = this.parkedCount > 0 || this.queuedCount + this.readyCount >= o.maxQueueSize;
    if (full && onFull === 'reject') {
      return Promise.reject(new BatcherQueueFullError(o.maxQueueSize));
    }
    if (cost === undefined) cost = this.estimate(record);
    // Wait one microtask so records submitted in the same tick share a batch. The clock is read
    // once per scheduled pump: records submitted before it runs share that timestamp, which can
    // only be early, so no record waits past its timeout.
    this.schedulePump();
    const now = this.burstNow;
    const promise = new Promise<Res>(capture);
    let link: AbortLink<Rec, Res> | undefined;
    if (signal !== undefined) link = new AbortLink(this, signal);
    const entry = new Entry<Rec, Res>(record, cost, now, capturedResolve, capturedReject, link);
    this.unsettled++;
    if (link !== undefined) {
      link.entry = entry;
      link.signal.addEventListener('abort', link);
    }
    if (full) {
      entry.state = PARKED;
      this.parked.push(entry);
      this.parkedCount++;
    } else {
      this.enqueue(entry);
    }
    return promise;
  }

  close(): Promise<void> {
    if (this.closed === undefined) {
      this.closing = true;
      this.closed = new Promise<void>((resolve) => {
        this.resolveClosed = resolve;
      });
      if (this.unsettled === 0) this.resolveClosed();
      else this.schedulePump();
    }
    return this.closed;
  }

  stats(): BatcherStats {
    const batches = this.batches;
    return {
      batches,
      records: this.records,
      meanBatchSize: batches === 0 ? 0 : this.records / batches,
      meanBatchCost: batches === 0 ? 0 : this.totalCost / batches,
      queueDepth: this.queuedCount + this.readyCount,
      prefetchedBatches: this.ready.length,
      waitingForRoom: this.parkedCount,
      running: this.running !== undefined,
      meanWaitMs: this.records === 0 ? 0 : this.totalWaitMs / this.records,
      maxWaitMs: this.maxWaitMs,
      failedBatches: this.failedBatches,
      abortedRecords: this.abortedRecords,
      estimateFailures: this.estimateFailures,
    };
  }

  abort(entry: Entry<Rec, Res>): void {
    switch (entry.state) {
      case PARKED:
        this.parkedCount--;
        break;
      case QUEUED:
        this.queuedCount--;
        this.queuedCost = this.queuedCount === 0 ? 0 : this.queuedCost - entry.cost;
        break;
      case READY:
        this.readyCount--;
        break;
      case RUNNING: {
        const batch = entry.link!.batch!;
        if (--batch.live === 0) batch.abandon();
        break;
      }
      default:
        return;
    }
    this.abortedRecords++;
    this.settle(entry);
    entry.reject(entry.link!.signal.reason);
    // Room may have opened for a parked record, and the queue's head may have changed. Pumping
    // later keeps `controller.abort()` from calling the process function re-entrantly.
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    this.burstNow = performance.now();
    queueMicrotask(this.pumpTask);
  }

  private estimate(record: Rec): number {
    const estimator = this.o.costEstimator;
    if (estimator === undefined) return this.o.defaultCost;
    let cost: unknown;
    try {
      cost = estimator(record);
    } catch {
      cost = undefined;
    }
    if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) return cost;
    this.estimateFailures++;
    return this.o.defaultCost;
  }

  private enqueue(entry: Entry<Rec, Res>): void {
    entry.state = QUEUED;
    this.queue.push(entry);
    this.queuedCount++;
    this.queuedCost += entry.cost;
  }

  private admitParked(): void {
    const max = this.o.maxQueueSize;
    while (this.parkedCount > 0 && this.queuedCount + this.readyCount < max) {
      const entry = this.parked.shift()!;
      if (entry.state !== PARKED) continue;
      this.parkedCount--;
      this.enqueue(entry);
    }
  }

  /** The oldest live queued record; drops aborted ones found at the head. */
  private head(): Entry<Rec, Res> | undefined {
    let entry = this.queue.peek();
    while (entry !== undefined && entry.state !== QUEUED) {
      this.queue.shift();
      entry = this.queue.peek();
    }
    return entry;
  }

  /** Whether a batch should close now; `slotFree` when the function is idle with nothing ready. */
  private shouldClose(slotFree: boolean, now: number): boolean {
    const count = this.queuedCount;
    if (count === 0) return false;
    const o = this.o;
    // Full: the head batch cannot grow any more.
    if (count >= o.maxBatchSize || this.queuedCost >= o.targetBatchCost) return true;
    // Closing: nothing more will come, so waiting for more records is pointless.
    if (this.closing || (slotFree && count >= o.minBatchSize)) return true;
    return now - this.head()!.time >= o.batchTimeoutMs;
  }

  /** Closes a batch from the head of the queue, as large as the bounds allow. */
  private cut(): Batch<Rec, Res> {
    const o = this.o;
    const entries: Entry<Rec, Res>[] = [];
    let cost = 0;
    for (;;) {
      const entry = this.head();
      if (entry === undefined || entries.length === o.maxBatchSize) break;
      // A record costlier than the target still runs, alone: it is never rejected or starved.
      if (entries.length > 0 && cost + entry.cost > o.targetBatchCost) break;
      this.queue.shift();
      entry.state = READY;
      entries.push(entry);
      cost += entry.cost;
      this.queuedCount--;
    }
    this.queuedCost = this.queuedCount === 0 ? 0 : this.queuedCost - cost;
    this.readyCount += entries.length;
    return new Batch(entries, cost);
  }

  private pump(): void {
    if (this.pumping) return; // the running loop will see whatever changed
    this.pumping = true;
    try {
      const o = this.o;
      let now = performance.now();
      // An abort may have opened room for records held back by backpressure.
      this.admitParked();
      for (;;) {
        if (this.running === undefined) {
          let next = this.ready.shift();
          if (next === undefined && this.shouldClose(true, now)) next = this.cut();
          if (next === undefined) break;
          this.run(next, now);
          now = performance.now();
        } else if (this.ready.length < o.prefetchBatches && this.shouldClose(false, now)) {
          this.ready.push(this.cut());
        } else {
          break;
        }
      }
      this.armTimer(now);
    } finally {
      this.pumping = false;
    }
  }

  /** Keeps one timer, for the oldest queued record, and only while a batch could close. */
  private armTimer(now: number): void {
    if (this.timer !== undefined) {
      if (this.queuedCount > 0) return; // fires early at worst, then re-arms for the new head
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.queuedCount === 0) return;
    // With the function busy and the prefetch buffer full, only a finishing batch frees room.
    if (this.running !== undefined && this.ready.length >= this.o.prefetchBatches) return;
    const delay = this.head()!.time + this.o.batchTimeoutMs - now;
    this.timer = setTimeout(this.onTimer, Math.max(delay, 0));
  }

  private run(batch: Batch<Rec, Res>, now: number): void {
    const entries = batch.entries;
    const records: Rec[] = [];
    let cost = 0;
    let live = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.state !== READY) continue; // aborted while its batch waited
      entries[live++] = entry;
      entry.state = RUNNING;
      if (entry.link !== undefined) entry.link.batch = batch;
      records.push(entry.record);
      cost += entry.cost;
      const wait = now - entry.time;
      this.totalWaitMs += wait;
      if (wait > this.maxWaitMs) this.maxWaitMs = wait;
    }
    entries.length = live;
    this.readyCount -= live;
    if (live === 0) return;
    batch.live = live;
    batch.cost = cost;
    this.batches++;
    this.records += live;
    this.totalCost += cost;
    this.admitParked();
    this.running = batch;
    let out: readonly Res[] | PromiseLike<readonly Res[]>;
    try {
      const processFn = this.o.processFn;
      out = processFn(records, new RunContext(batch));
    } catch (error) {
      this.fail(batch, error);
      return;
    }
    if (isThenable<readonly Res[]>(out)) {
      try {
        out.then(
          (results) => this.complete(batch, results),
          (error: unknown) => this.fail(batch, error),
        );
      } catch (error) {
        this.fail(batch, error);
      }
    } else {
      this.complete(batch, out);
    }
  }

  private complete(batch: Batch<Rec, Res>, results: unknown): void {
    if (this.running !== batch) return;
    const entries = batch.entries;
    if (!Array.isArray(results)) {
      this.fail(batch, new BatcherResultTypeError(entries.length, results));
      return;
    }
    if (results.length !== entries.length) {
      this.fail(batch, new BatcherResultLengthError(entries.length, results.length));
      return;
    }
    this.running = undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.state !== RUNNING) continue; // aborted while running: already rejected
      this.settle(entry);
      entry.resolve(results[i] as Res);
    }
    this.pump();
  }

  private fail(batch: Batch<Rec, Res>, error: unknown): void {
    if (this.running !== batch) return;
    this.running = undefined;
    this.failedBatches++;
    const entries = batch.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.state !== RUNNING) continue;
      this.settle(entry);
      entry.reject(error);
    }
    this.pump();
  }

  private settle(entry: Entry<Rec, Res>): void {
    entry.state = DONE;
    const link = entry.link;
    if (link !== undefined) {
      link.batch = undefined;
      link.signal.removeEventListener('abort', link);
    }
    if (--this.unsettled === 0 && this.closing) this.resolveClosed();
  }
}
