import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BatcherClosedError,
  BatcherError,
  BatcherOptionError,
  BatcherQueueFullError,
  BatcherResultLengthError,
  BatcherResultTypeError,
} from './errors.js';
import { controlledFn, flush, outcome } from './test-helpers.js';
import { TokenBatcher } from './token-batcher.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const sizes = (calls: { records: unknown[] }[]) => calls.map((call) => call.records.length);

describe('TokenBatcher: results', () => {
  it('settles each record with its own entry of the result array', async () => {
    const batcher = new TokenBatcher({
      processFn: (records: number[]) => records.map((r) => r * 10),
    });
    const results = await Promise.all([1, 2, 3].map((r) => batcher.submit(r)));
    expect(results).toEqual([10, 20, 30]);
  });

  it('puts records submitted in the same tick into one batch', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn });
    const pending = [1, 2, 3, 4].map((r) => batcher.submit(r));
    await flush();
    expect(control.calls.map((c) => c.records)).toEqual([[1, 2, 3, 4]]);
    control.echo(0);
    expect(await Promise.all(pending)).toEqual([1, 2, 3, 4]);
  });

  it('accepts the source names inferenceFn, tokenEstimator and targetBatchTokens', async () => {
    const control = controlledFn<string>();
    const batcher = new TokenBatcher({
      inferenceFn: control.fn,
      tokenEstimator: (s: string) => s.length,
      targetBatchTokens: 5,
      defaultTokenEstimate: 2,
    });
    const pending = ['abc', 'de', 'f'].map((r) => batcher.submit(r));
    await flush();
    expect(control.calls.map((c) => c.records)).toEqual([['abc', 'de']]);
    expect(control.calls[0]!.context.cost).toBe(5);
    control.echo(0);
    await flush();
    control.echo(1);
    expect(await Promise.all(pending)).toEqual(['abc', 'de', 'f']);
  });
});

describe('TokenBatcher: batch bounds', () => {
  it('never puts more than maxBatchSize records in a batch', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxBatchSize: 4 });
    const pending = Array.from({ length: 10 }, (_, i) => batcher.submit(i));
    await flush();
    control.echo(0);
    await flush();
    control.echo(1);
    await flush();
    control.echo(2);
    expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes(control.calls)).toEqual([4, 4, 2]);
  });

  it('never lets a batch cost more than targetBatchCost', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      costEstimator: (r: number) => r,
      targetBatchCost: 10,
    });
    const pending = [4, 4, 4, 6, 3, 1].map((r) => batcher.submit(r));
    for (let i = 0; i < 3; i++) {
      await flush();
      control.echo(i);
    }
    await Promise.all(pending);
    expect(control.calls.map((c) => c.records)).toEqual([
      [4, 4],
      [4, 6],
      [3, 1],
    ]);
    expect(control.calls.map((c) => c.context.cost)).toEqual([8, 10, 4]);
  });

  it('runs a record that alone exceeds targetBatchCost in a batch of its own', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      costEstimator: (r: number) => r,
      targetBatchCost: 10,
    });
    const pending = [2, 50, 3].map((r) => batcher.submit(r));
    for (let i = 0; i < 3; i++) {
      await flush();
      control.echo(i);
    }
    expect(await Promise.all(pending)).toEqual([2, 50, 3]);
    expect(control.calls.map((c) => c.records)).toEqual([[2], [50], [3]]);
  });
});

describe('TokenBatcher: when a batch is dispatched', () => {
  it('dispatches a lone record at once when the function is idle (minBatchSize 1)', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn });
    void batcher.submit(1);
    await flush();
    expect(control.fn).toHaveBeenCalledTimes(1);
    expect(batcher.stats.maxWaitMs).toBe(0);
  });

  it('holds a partial batch below minBatchSize until its oldest record waited batchTimeoutMs', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, minBatchSize: 3 });
    void batcher.submit(1);
    await vi.advanceTimersByTimeAsync(20);
    void batcher.submit(2);
    await vi.advanceTimersByTimeAsync(29);
    expect(control.fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(control.calls.map((c) => c.records)).toEqual([[1, 2]]);
    expect(batcher.stats.maxWaitMs).toBe(50);
  });

  it('dispatches as soon as minBatchSize records are queued and the function is idle', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, minBatchSize: 3 });
    void batcher.submit(1);
    void batcher.submit(2);
    await vi.advanceTimersByTimeAsync(10);
    expect(control.fn).not.toHaveBeenCalled();
    void batcher.submit(3);
    await flush();
    expect(control.calls.map((c) => c.records)).toEqual([[1, 2, 3]]);
  });

  it('closes a full batch at once while the function is busy', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxBatchSize: 2 });
    void batcher.submit(0);
    await flush();
    void batcher.submit(1);
    void batcher.submit(2);
    await flush();
    expect(batcher.stats.prefetchedBatches).toBe(1);
    expect(batcher.stats.queueDepth).toBe(2);
  });

  it('lets a partial batch wait while the function is busy, then closes it at the timeout', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, batchTimeoutMs: 50 });
    void batcher.submit(0);
    await flush();
    void batcher.submit(1);
    await vi.advanceTimersByTimeAsync(49);
    expect(batcher.stats.prefetchedBatches).toBe(0);
    void batcher.submit(2); // joins the waiting batch
    await vi.advanceTimersByTimeAsync(1);
    expect(batcher.stats.prefetchedBatches).toBe(1);
    control.echo(0);
    await flush();
    expect(control.calls.map((c) => c.records)).toEqual([[0], [1, 2]]);
  });

  it('starts the queued records as soon as the running batch finishes, without the timeout', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, batchTimeoutMs: 1000 });
    void batcher.submit(0);
    await flush();
    void batcher.submit(1);
    await vi.advanceTimersByTimeAsync(5);
    control.echo(0);
    await flush();
    expect(control.calls.map((c) => c.records)).toEqual([[0], [1]]);
    expect(batcher.stats.maxWaitMs).toBe(5);
  });
});

describe('TokenBatcher: prefetch and concurrency', () => {
  it('forms up to prefetchBatches batches ahead while the function runs', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      maxBatchSize: 2,
      prefetchBatches: 2,
    });
    const pending = Array.from({ length: 9 }, (_, i) => batcher.submit(i));
    await flush();
    expect(control.fn).toHaveBeenCalledTimes(1);
    expect(batcher.stats).toMatchObject({ prefetchedBatches: 2, queueDepth: 7 });
    for (let i = 0; i < 5; i++) {
      control.echo(i);
      await flush();
    }
    expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sizes(control.calls)).toEqual([2, 2, 2, 2, 1]);
  });

  it('hands the next prefetched batch over in the same turn the previous one finishes', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxBatchSize: 1 });
    void batcher.submit(0);
    void batcher.submit(1);
    await flush();
    expect(batcher.stats.prefetchedBatches).toBe(1);
    control.calls[0]!.resolve([0]);
    // Two microtasks: the function's promise settles, then the batcher's callback runs. No timer
    // and no batch formation stand between one batch and the next.
    await Promise.resolve();
    await Promise.resolve();
    expect(control.fn).toHaveBeenCalledTimes(2);
  });

  it('runs thousands of batches of a synchronous function without deep recursion', async () => {
    const batcher = new TokenBatcher({
      processFn: (records: number[]) => records,
      maxBatchSize: 1,
    });
    const pending = Array.from({ length: 20_000 }, (_, i) => batcher.submit(i));
    const results = await Promise.all(pending);
    expect(results[19_999]).toBe(19_999);
    expect(batcher.stats.batches).toBe(20_000);
  });

  it('runs one batch at a time', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxBatchSize: 3 });
    const pending = Array.from({ length: 30 }, (_, i) => batcher.submit(i));
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(100);
      expect(control.calls.length).toBe(i + 1);
      control.echo(i);
    }
    await Promise.all(pending);
    expect(control.maxRunning).toBe(1);
  });

  it('forms no batch ahead with prefetchBatches 0', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      maxBatchSize: 2,
      prefetchBatches: 0,
    });
    const pending = Array.from({ length: 5 }, (_, i) => batcher.submit(i));
    await vi.advanceTimersByTimeAsync(100);
    expect(batcher.stats).toMatchObject({ prefetchedBatches: 0, queueDepth: 3 });
    for (let i = 0; i < 3; i++) {
      control.echo(i);
      await flush();
    }
    expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4]);
    expect(sizes(control.calls)).toEqual([2, 2, 1]);
  });
});

describe('TokenBatcher: backpressure', () => {
  it('holds records back while maxQueueSize are pending and admits them in order as room opens', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      maxQueueSize: 2,
      maxBatchSize: 2,
      prefetchBatches: 1,
    });
    const pending = Array.from({ length: 7 }, (_, i) => batcher.submit(i));
    await flush();
    // [0,1] runs, [2,3] is prefetched (pending 2 = full), 4..6 wait for room.
    expect(batcher.stats).toMatchObject({ queueDepth: 2, waitingForRoom: 3 });
    for (let i = 0; i < 4; i++) {
      control.echo(i);
      await flush();
      expect(batcher.stats.queueDepth).toBeLessThanOrEqual(2);
    }
    expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(control.calls.map((c) => c.records)).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
  });

  it("rejects with BATCHER_QUEUE_FULL when the queue is full and onFull is 'reject'", async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxQueueSize: 1, onFull: 'reject' });
    void batcher.submit(0);
    await flush(); // 0 runs; the queue is empty again
    const queued = outcome(batcher.submit(1));
    const refused = batcher.submit(2);
    await expect(refused).rejects.toBeInstanceOf(BatcherQueueFullError);
    await expect(refused).rejects.toMatchObject({ code: 'BATCHER_QUEUE_FULL', maxQueueSize: 1 });
    const waited = outcome(batcher.submit(3, { onFull: 'wait' }));
    control.echo(0);
    await flush();
    control.echo(1);
    await flush();
    control.echo(2);
    await flush();
    expect(queued).toMatchObject({ status: 'fulfilled', value: 1 });
    expect(waited).toMatchObject({ status: 'fulfilled', value: 3 });
  });

  it("lets one submit choose onFull: 'reject' on a waiting batcher", async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxQueueSize: 1 });
    void batcher.submit(0);
    await flush();
    void batcher.submit(1);
    await expect(batcher.submit(2, { onFull: 'reject' })).rejects.toMatchObject({
      code: 'BATCHER_QUEUE_FULL',
    });
  });
});

describe('TokenBatcher: failures', () => {
  it('rejects every record of a batch whose function throws, and runs the next batch', async () => {
    const boom = new Error('boom');
    let call = 0;
    const batcher = new TokenBatcher({
      maxBatchSize: 2,
      processFn: (records: number[]) => {
        if (call++ === 0) throw boom;
        return records;
      },
    });
    const results = await Promise.allSettled([1, 2, 3].map((r) => batcher.submit(r)));
    expect(results).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 3 },
    ]);
    expect(batcher.stats.failedBatches).toBe(1);
  });

  it('rejects every record of a batch whose function rejects, and runs the next batch', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxBatchSize: 2 });
    const pending = [1, 2, 3].map((r) => outcome(batcher.submit(r)));
    await flush();
    const boom = new Error('model crashed');
    control.calls[0]!.reject(boom);
    await flush();
    control.echo(1);
    await flush();
    expect(pending.map((p) => p.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(pending[0]!.reason).toBe(boom);
    expect(pending[1]!.reason).toBe(boom);
  });

  it('rejects the whole batch with BATCHER_RESULT_LENGTH, naming both lengths', async () => {
    let call = 0;
    const batcher = new TokenBatcher({
      maxBatchSize: 3,
      processFn: (records: number[]) => (call++ === 0 ? records.slice(1) : records),
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((r) => batcher.submit(r)));
    const error = (results[0] as PromiseRejectedResult).reason as BatcherResultLengthError;
    expect(error).toBeInstanceOf(BatcherResultLengthError);
    expect(error).toBeInstanceOf(BatcherError);
    expect(error).toMatchObject({ code: 'BATCHER_RESULT_LENGTH', expected: 3, received: 2 });
    expect(error.message).toContain('2 results');
    expect(error.message).toContain('3 records');
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
  });

  it('rejects the whole batch with BATCHER_RESULT_TYPE when the result is not an array', async () => {
    const batcher = new TokenBatcher({
      processFn: async () => ({ length: 1 }) as unknown as number[],
    });
    const result = batcher.submit(1);
    await expect(result).rejects.toBeInstanceOf(BatcherResultTypeError);
    await expect(result).rejects.toMatchObject({ code: 'BATCHER_RESULT_TYPE', expected: 1 });
  });
});

describe('TokenBatcher: abort', () => {
  it('takes a record aborted before dispatch out of its batch and rejects it with the reason', async () => {
    const control = controlledFn<string>();
    const batcher = new TokenBatcher({ processFn: control.fn, minBatchSize: 3 });
    const controller = new AbortController();
    const a = outcome(batcher.submit('a'));
    const b = outcome(batcher.submit('b', { signal: controller.signal }));
    await flush();
    controller.abort(new Error('user left'));
    await flush();
    expect(b).toMatchObject({ status: 'rejected', reason: new Error('user left') });
    const c = outcome(batcher.submit('c'));
    await vi.advanceTimersByTimeAsync(50);
    expect(control.calls.map((call) => call.records)).toEqual([['a', 'c']]);
    control.calls[0]!.resolve(['A', 'C']);
    await flush();
    expect(a).toMatchObject({ status: 'fulfilled', value: 'A' });
    expect(c).toMatchObject({ status: 'fulfilled', value: 'C' });
    expect(batcher.stats.abortedRecords).toBe(1);
  });

  it('takes a record aborted in a prefetched batch out before that batch runs', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxBatchSize: 2 });
    const controller = new AbortController();
    void batcher.submit(0);
    void batcher.submit(1);
    const aborted = outcome(batcher.submit(2, { signal: controller.signal }));
    const kept = outcome(batcher.submit(3));
    await flush();
    expect(batcher.stats.prefetchedBatches).toBe(1);
    controller.abort();
    control.echo(0);
    await flush();
    expect(control.calls[1]!.records).toEqual([3]);
    control.echo(1);
    await flush();
    expect(aborted.status).toBe('rejected');
    expect((aborted.reason as Error).name).toBe('AbortError');
    expect(kept).toMatchObject({ status: 'fulfilled', value: 3 });
  });

  it('rejects a record aborted after dispatch at once, and resolves the others', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn });
    const controller = new AbortController();
    const first = outcome(batcher.submit(1));
    const second = outcome(batcher.submit(2, { signal: controller.signal }));
    await flush();
    controller.abort('too slow');
    await flush();
    expect(second).toMatchObject({ status: 'rejected', reason: 'too slow' });
    expect(control.calls[0]!.context.signal.aborted).toBe(false);
    control.echo(0);
    await flush();
    expect(first).toMatchObject({ status: 'fulfilled', value: 1 });
  });

  it('aborts the batch signal once every record of the running batch is aborted', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn });
    const controller = new AbortController();
    void batcher.submit(1, { signal: controller.signal }).catch(() => {});
    void batcher.submit(2, { signal: controller.signal }).catch(() => {});
    await flush();
    const { signal } = control.calls[0]!.context;
    expect(signal.aborted).toBe(false);
    controller.abort();
    expect(signal.aborted).toBe(true);
    control.echo(0); // a late result is ignored
    await expect(batcher.close()).resolves.toBeUndefined();
  });

  it('never calls the function from inside controller.abort()', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, minBatchSize: 2 });
    const controller = new AbortController();
    void batcher.submit(1).catch(() => {});
    void batcher.submit(2, { signal: controller.signal }).catch(() => {});
    void batcher.submit(3);
    controller.abort();
    expect(control.fn).not.toHaveBeenCalled();
    await flush();
    expect(control.calls.map((c) => c.records)).toEqual([[1, 3]]);
  });

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn });
    const result = batcher.submit(1, { signal: AbortSignal.abort('gone') });
    await expect(result).rejects.toBe('gone');
    await flush();
    expect(control.fn).not.toHaveBeenCalled();
  });

  it('drops a record aborted while it waits for room without running it', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({ processFn: control.fn, maxQueueSize: 1 });
    const controller = new AbortController();
    void batcher.submit(0);
    await flush();
    void batcher.submit(1);
    const waiting = outcome(batcher.submit(2, { signal: controller.signal }));
    expect(batcher.stats.waitingForRoom).toBe(1);
    controller.abort();
    await flush();
    expect(waiting.status).toBe('rejected');
    expect(batcher.stats.waitingForRoom).toBe(0);
    control.echo(0);
    await flush();
    control.echo(1);
    await batcher.close();
    expect(control.calls.map((c) => c.records)).toEqual([[0], [1]]);
  });

  it('ignores an abort that comes after the record settled', async () => {
    const batcher = new TokenBatcher({ processFn: (records: number[]) => records });
    const controller = new AbortController();
    await expect(batcher.submit(1, { signal: controller.signal })).resolves.toBe(1);
    controller.abort();
    expect(batcher.stats.abortedRecords).toBe(0);
  });
});

describe('TokenBatcher: close', () => {
  it('rejects submit after close with BATCHER_CLOSED', async () => {
    const batcher = new TokenBatcher({ processFn: (records: number[]) => records });
    await batcher.close();
    expect(batcher.closed).toBe(true);
    const result = batcher.submit(1);
    await expect(result).rejects.toBeInstanceOf(BatcherClosedError);
    await expect(result).rejects.toMatchObject({ code: 'BATCHER_CLOSED' });
  });

  it('runs queued records without waiting for the timeout and resolves once all settled', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      minBatchSize: 10,
      batchTimeoutMs: 10_000,
      maxQueueSize: 10,
      maxBatchSize: 10,
    });
    const pending = Array.from({ length: 12 }, (_, i) => outcome(batcher.submit(i)));
    await flush();
    // 10 form a full batch; 2 wait for room.
    expect(control.calls.map((c) => c.records.length)).toEqual([10]);
    let closed = false;
    void batcher.close().then(() => {
      closed = true;
    });
    control.echo(0);
    await flush();
    expect(control.calls[1]!.records).toEqual([10, 11]);
    expect(closed).toBe(false);
    control.echo(1);
    await flush();
    expect(closed).toBe(true);
    expect(pending.every((p) => p.status === 'fulfilled')).toBe(true);
  });

  it('resolves at once when nothing is pending, and returns the same promise twice', async () => {
    const batcher = new TokenBatcher({ processFn: (records: number[]) => records });
    const first = batcher.close();
    expect(batcher.close()).toBe(first);
    await expect(first).resolves.toBeUndefined();
  });
});

describe('TokenBatcher: costs', () => {
  it('uses the explicit estimate over the estimator', async () => {
    const control = controlledFn<string>();
    const estimator = vi.fn(() => 1);
    const batcher = new TokenBatcher({
      processFn: control.fn,
      costEstimator: estimator,
      targetBatchCost: 10,
    });
    void batcher.submit('a', { estimatedTokens: 7 });
    void batcher.submit('b', { estimatedCost: 3 });
    void batcher.submit('c');
    await flush();
    expect(control.calls[0]!.context.cost).toBe(10);
    expect(estimator).toHaveBeenCalledTimes(1);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('tokenizer down');
      },
    ],
    ['returns NaN', () => Number.NaN],
    ['returns a negative cost', () => -3],
    ['returns Infinity', () => Number.POSITIVE_INFINITY],
    ['returns a non-number', () => '12' as unknown as number],
  ])('uses defaultCost when the estimator %s', async (_case, estimator) => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      costEstimator: estimator,
      defaultCost: 4,
    });
    void batcher.submit(1);
    await flush();
    expect(control.calls[0]!.context.cost).toBe(4);
    expect(batcher.stats.estimateFailures).toBe(1);
  });

  it('rejects a submit with both estimatedCost and estimatedTokens, a bad estimate or onFull', async () => {
    const batcher = new TokenBatcher({ processFn: (records: number[]) => records });
    const both = batcher.submit(1, { estimatedCost: 1, estimatedTokens: 1 });
    await expect(both).rejects.toBeInstanceOf(BatcherOptionError);
    await expect(both).rejects.toThrow(/estimatedCost.*estimatedTokens/);
    await expect(batcher.submit(1, { estimatedCost: -1 })).rejects.toMatchObject({
      code: 'BATCHER_INVALID_OPTION',
      option: 'estimatedCost',
    });
    await expect(batcher.submit(1, { onFull: 'drop' as unknown as 'wait' })).rejects.toMatchObject({
      code: 'BATCHER_INVALID_OPTION',
      option: 'onFull',
    });
  });
});

describe('TokenBatcher: stats', () => {
  it('reports batches, records, mean batch size and cost, queue depth and wait time', async () => {
    const control = controlledFn<number>();
    const batcher = new TokenBatcher({
      processFn: control.fn,
      costEstimator: (r: number) => r,
      maxBatchSize: 2,
    });
    expect(batcher.stats).toMatchObject({ batches: 0, meanBatchSize: 0, meanWaitMs: 0 });
    const pending = [10, 20, 30].map((r) => batcher.submit(r));
    await flush();
    expect(batcher.stats).toMatchObject({ batches: 1, records: 2, queueDepth: 1, running: true });
    await vi.advanceTimersByTimeAsync(30);
    control.echo(0);
    await flush();
    control.echo(1);
    await Promise.all(pending);
    expect(batcher.stats).toEqual({
      batches: 2,
      records: 3,
      meanBatchSize: 1.5,
      meanBatchCost: 30,
      queueDepth: 0,
      prefetchedBatches: 0,
      waitingForRoom: 0,
      running: false,
      meanWaitMs: 10,
      maxWaitMs: 30,
      failedBatches: 0,
      abortedRecords: 0,
      estimateFailures: 0,
    });
  });
});
