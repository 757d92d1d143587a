import { describe, expect, it } from 'vitest';
import { type FinishedSequence, Scheduler, type SchedulerOutput } from './scheduler.js';

const range = (start: number, end: number) =>
  Array.from({ length: end - start }, (_, i) => start + i);

/** Steps until nothing is pending, sampling `100 + step` for every sequence that samples. */
function drain(scheduler: Scheduler, maxSteps = 10_000) {
  const finished: FinishedSequence[] = [];
  const outputs: SchedulerOutput[] = [];
  for (let step = 0; scheduler.hasPendingWork(); step++) {
    if (step >= maxSteps) throw new Error(`not finished after ${maxSteps} steps`);
    const out = scheduler.schedule();
    outputs.push(out);
    const sampled = new Map(
      out.scheduled.filter((s) => s.sample).map((s) => [s.seqId, 100 + step]),
    );
    finished.push(...scheduler.update(out, sampled));
  }
  return { finished, outputs };
}

describe('Scheduler', () => {
  it('reports the KV cache through stats(), and takes the watermark it keeps free', () => {
    const s = new Scheduler({ numBlocks: 10, blockSize: 4, watermark: 0.5 });
    expect(s.stats()).toEqual({
      numBlocks: 10,
      numFreeBlocks: 10,
      blockSize: 4,
      kvUsage: 0,
      prefixCacheQueriedTokens: 0,
      prefixCacheHitTokens: 0,
    });
    // A 24-token prompt needs 7 blocks: more than the pool less its 5-block watermark, so it waits
    // while another sequence runs.
    s.addRequest({ id: 1, promptTokens: range(0, 8), maxTokens: 4 });
    s.update(s.schedule(), new Map([[1, 1]]));
    s.addRequest({ id: 2, promptTokens: range(0, 24), maxTokens: 1 });
    const next = s.schedule();
    expect(next.scheduled.map((x) => x.seqId)).toEqual([1]);
    expect(s.stats().numFreeBlocks).toBe(7);
    expect(s.stats().kvUsage).toBeCloseTo(0.3);
  });

  it('prefills a prompt, then decodes one token per step until maxTokens', () => {
    const s = new Scheduler({ numBlocks: 16, blockSize: 4 });
    s.addRequest({ id: 1, promptTokens: range(0, 10), maxTokens: 3 });
    const first = s.schedule();
    expect(first.scheduled).toEqual([
      expect.objectContaining({ seqId: 1, start: 0, numTokens: 10, sample: true }),
    ]);
    expect([...first.slotMapping]).toEqual(range(0, 10));
    expect([...first.tokenIds]).toEqual(range(0, 10));
    expect(s.update(first, new Map([[1, 42]]))).toEqual([]);
    const second = s.schedule();
    expect(second.scheduled[0]).toMatchObject({ start: 10, numTokens: 1, offset: 0, sample: true });
    expect([...second.tokenIds]).toEqual([42]);
    const { finished } = drain(s);
    expect(finished).toEqual([
      { id: 1, outputTokens: [42, expect.any(Number), expect.any(Number)], finishReason: 'length' },
    ]);
    expect(s.inspectBlocks().numFreeBlocks).toBe(16);
  });

  it('batches decodes and new prefills in one step, chunking a long prompt under the token budget', () => {
    const s = new Scheduler({
      numBlocks: 64,
      blockSize: 4,
      maxTotalTokens: 8,
      maxBatchSize: 4,
      maxNumSeqs: 8,
    });
    s.addRequest({ id: 1, promptTokens: range(0, 3), maxTokens: 5 });
    s.update(s.schedule(), new Map([[1, 7]]));
    s.addRequest({ id: 2, promptTokens: range(0, 20), maxTokens: 5 });
    const step = s.schedule();
    // The decode of 1 (one token) and a 7-token chunk of 2's prompt share the 8-token budget.
    expect(step.scheduled.map((x) => [x.seqId, x.start, x.numTokens, x.sample])).toEqual([
      [1, 3, 1, true],
      [2, 0, 7, false],
    ]);
    expect(step.numBatchedTokens).toBe(8);
    s.update(step, new Map([[1, 8]]));
    expect(s.schedule().scheduled.find((x) => x.seqId === 2)).toMatchObject({
      start: 7,
      numTokens: 7,
    });
  });

  it('skips prompt tokens found in the prefix cache', () => {
    const s = new Scheduler({ numBlocks: 64, blockSize: 4 });
    const shared = range(500, 512);
    s.addRequest({ id: 1, promptTokens: [...shared, 1], maxTokens: 1 });
    drain(s);
    s.addRequest({ id: 2, promptTokens: [...shared, 2], maxTokens: 1 });
    expect(s.schedule().scheduled[0]).toMatchObject({ seqId: 2, start: 12, numTokens: 1 });
  });

  it('rejects a step result missing a sampled token, changing nothing', () => {
    const s = new Scheduler({ numBlocks: 8, blockSize: 4 });
    s.addRequest({ id: 1, promptTokens: [1, 2], maxTokens: 5 });
    s.addRequest({ id: 2, promptTokens: [3, 4], maxTokens: 5 });
    const out = s.schedule();
    expect(() => s.update(out, new Map([[1, 9]]))).toThrow(
      expect.objectContaining({ code: 'SCHEDULER_MISSING_TOKEN' }),
    );
    expect(s.outputTokens(1)).toEqual([]);
    s.update(
      out,
      new Map([
        [1, 9],
        [2, 8],
      ]),
    );
    expect(s.outputTokens(1)).toEqual([9]);
  });

  it('finishes on a stop token', () => {
    const s = new Scheduler({ numBlocks: 8, blockSize: 4 });
    s.addRequest({ id: 1, promptTokens: [1, 2], maxTokens: 50, stopTokenIds: [2] });
    expect(s.update(s.schedule(), new Map([[1, 2]]))).toEqual([
      { id: 1, outputTokens: [2], finishReason: 'stop' },
    ]);
  });

  it('rejects a prompt that can never run, with a reason', () => {
    const s = new Scheduler({ numBlocks: 4, blockSize: 4, maxModelLen: 32 });
    expect(s.addRequest({ id: 1, promptTokens: range(0, 32), maxTokens: 1 })?.reason).toContain(
      'maxModelLen 32',
    );
    expect(s.addRequest({ id: 2, promptTokens: range(0, 20), maxTokens: 1 })?.reason).toContain(
      'the pool has 4',
    );
    expect(s.addRequest({ id: 3, promptTokens: [], maxTokens: 1 })?.reason).toBe(
      'the prompt is empty',
    );
    expect(s.hasPendingWork()).toBe(false);
  });

  it('frees every block when a request is aborted in any state', () => {
    const s = new Scheduler({ numBlocks: 8, blockSize: 4, maxTotalTokens: 4 });
    s.addRequest({ id: 1, promptTokens: range(0, 10), maxTokens: 5 });
    s.addRequest({ id: 2, promptTokens: range(0, 3), maxTokens: 5 });
    const out = s.schedule(); // 1 is mid-prefill, 2 waits
    expect(s.abort(1)).toBe(true);
    expect(s.abort(2)).toBe(true);
    expect(s.abort(3)).toBe(false);
    expect(s.update(out, new Map())).toEqual([]);
    expect(s.inspectBlocks().numFreeBlocks).toBe(8);
    expect(s.hasPendingWork()).toBe(false);
  });

  it.each(['recompute', 'swap'] as const)(
    'finishes every request with a pool just big enough for one sequence at maxModelLen (%s)',
    (preemptionMode) => {
      const s = new Scheduler({
        numBlocks: 8,
        blockSize: 4,
        numHostBlocks: preemptionMode === 'swap' ? 32 : 0,
        maxModelLen: 32,
        preemptionMode,
      });
      for (let id = 0; id < 6; id++)
        s.addRequest({ id, promptTokens: range(id * 10, id * 10 + 5), maxTokens: 40 });
      const { finished, outputs } = drain(s);
      expect(finished.map((f) => f.id).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      for (const f of finished) expect(f.outputTokens).toHaveLength(27); // 32 − 5 prompt tokens
      expect(outputs.some((o) => o.preempted.length > 0)).toBe(true);
      if (preemptionMode === 'swap') expect(outputs.some((o) => o.swapOut.length > 0)).toBe(true);
      expect(s.inspectBlocks().numFreeBlocks).toBe(8);
    },
  );

  it('runs higher-priority requests first under the priority policy', () => {
    const s = new Scheduler({ numBlocks: 64, blockSize: 4, policy: 'priority', maxBatchSize: 1 });
    s.addRequest({ id: 1, promptTokens: [1], maxTokens: 1, priority: 5 });
    s.addRequest({ id: 2, promptTokens: [2], maxTokens: 1, priority: 1 });
    expect(s.schedule().scheduled.map((x) => x.seqId)).toEqual([2]);
  });
});

describe('Scheduler.fork', () => {
  it('samples n continuations of one prompt, sharing the prompt blocks', () => {
    const s = new Scheduler({ numBlocks: 16, blockSize: 4 });
    s.addRequest({ id: 1, promptTokens: range(0, 6), maxTokens: 3 });
    s.update(s.schedule(), new Map([[1, 50]]));
    s.fork(1, 2, 60);
    s.fork(1, 3, 70);
    expect(s.inspectBlocks().device.refCount(s.inspectBlocks().blockTable(1)[0]!)).toBe(3);
    const step = s.schedule();
    expect(step.scheduled.map((x) => x.seqId)).toEqual([1, 2, 3]);
    expect([...step.tokenIds]).toEqual([50, 60, 70]);
    // The shared partial block is copied for two of the three writers.
    expect(step.copies).toHaveLength(2);
    const { finished } = drain(s);
    const outputs = new Map(finished.map((f) => [f.id, f.outputTokens]));
    expect(outputs.get(1)?.[0]).toBe(50);
    expect(outputs.get(2)?.[0]).toBe(60);
    expect(outputs.get(3)?.[0]).toBe(70);
    expect(s.inspectBlocks().numFreeBlocks).toBe(16);
  });

  it('rejects a fork it cannot make, with a typed error', () => {
    const s = new Scheduler({ numBlocks: 16, blockSize: 4, maxNumSeqs: 2, maxBatchSize: 2 });
    s.addRequest({ id: 1, promptTokens: range(0, 6), maxTokens: 3 });
    expect(() => s.fork(1, 2)).toThrow(expect.objectContaining({ code: 'SCHEDULER_NOT_RUNNING' }));
    const out = s.schedule();
    expect(() => s.fork(1, 2, 9)).toThrow(expect.objectContaining({ code: 'SCHEDULER_BAD_FORK' }));
    expect(() => s.fork(9, 2)).toThrow(
      expect.objectContaining({ code: 'SCHEDULER_UNKNOWN_SEQUENCE' }),
    );
    s.update(out, new Map([[1, 5]]));
    s.fork(1, 2, 6);
    expect(() => s.fork(1, 2, 7)).toThrow(
      expect.objectContaining({ code: 'SCHEDULER_DUPLICATE_SEQUENCE' }),
    );
    expect(() => s.fork(1, 3, 7)).toThrow(
      expect.objectContaining({ code: 'SCHEDULER_TOO_MANY_SEQUENCES' }),
    );
  });
});

describe('Scheduler regressions', () => {
  it('swaps back in a forked sequence that holds the whole pool (found by the property test)', () => {
    const s = new Scheduler({
      numBlocks: 4,
      blockSize: 6,
      numHostBlocks: 4,
      maxBatchSize: 1,
      maxTotalTokens: 5,
      maxModelLen: 21,
      preemptionMode: 'swap',
      enablePrefixCaching: false,
    });
    s.addRequest({ id: 0, promptTokens: range(0, 18), maxTokens: 3 });
    const finished: FinishedSequence[] = [];
    for (let step = 0; step < 50 && s.hasPendingWork(); step++) {
      const out = s.schedule();
      const sampled = new Map(
        out.scheduled.filter((x) => x.sample).map((x) => [x.seqId, 7 + step]),
      );
      finished.push(...s.update(out, sampled));
      if (step === 4) s.fork(0, 1, 900);
    }
    expect(s.hasPendingWork()).toBe(false);
    expect(finished.map((f) => [f.id, f.outputTokens])).toEqual([
      [0, [10, 11, 12]],
      [1, [10, 900, 13]],
    ]);
  });
});

describe('parallel sampling (forks)', () => {
  const sampled = (tokens: number[]) => tokens.map((t, i): [number, number] => [i + 1, t]);

  it('computes a shared prompt once, then forks it copy-on-write for the last token', () => {
    const s = new Scheduler({ numBlocks: 16, blockSize: 4, enablePrefixCaching: false });
    s.addRequest({ id: 1, promptTokens: range(0, 10), maxTokens: 2, forks: [2, 3] });
    // All but the last prompt token, once, without sampling.
    const first = s.schedule();
    expect(first.scheduled).toEqual([
      expect.objectContaining({ seqId: 1, start: 0, numTokens: 9, sample: false }),
    ]);
    s.update(first, new Map());
    // Then the last token for each of the three, each sampled. The forks share every block, the
    // last token's slot included: the three write the same K/V there.
    const second = s.schedule();
    expect(second.scheduled.map((x) => [x.seqId, x.start, x.numTokens, x.sample])).toEqual([
      [1, 9, 1, true],
      [2, 9, 1, true],
      [3, 9, 1, true],
    ]);
    expect(second.numBatchedTokens).toBe(3);
    expect(second.copies).toEqual([]);
    const tables = second.scheduled.map((x) => [...x.blockTable]);
    expect(tables[1]).toEqual(tables[0]);
    expect(tables[2]).toEqual(tables[0]);
    s.update(second, new Map(sampled([50, 60, 70])));
    // Their own first tokens go into the shared partial block: copied for two of them.
    const third = s.schedule();
    expect(third.copies).toHaveLength(2);
    expect(new Set(third.scheduled.map((x) => x.blockTable[2])).size).toBe(3);
    const finished = s.update(third, new Map(sampled([51, 61, 71])));
    expect(finished.map((f) => [f.id, f.outputTokens])).toEqual([
      [1, [50, 51]],
      [2, [60, 61]],
      [3, [70, 71]],
    ]);
    expect(s.stats().numFreeBlocks).toBe(16);
  });

  it('aborts a fork not yet made, and turns a one-token prompt into separate requests', () => {
    const s = new Scheduler({ numBlocks: 16, blockSize: 4 });
    s.addRequest({ id: 1, promptTokens: range(0, 6), maxTokens: 1, forks: [2, 3] });
    expect(s.abort(3)).toBe(true);
    expect(s.addRequest({ id: 4, promptTokens: [1], maxTokens: 1, forks: [2] })).toEqual({
      id: 4,
      reason: 'fork 2 of request 4 is already queued',
    });
    s.update(s.schedule(), new Map());
    expect(s.schedule().scheduled.map((x) => x.seqId)).toEqual([1, 2]);
    const t = new Scheduler({ numBlocks: 16, blockSize: 4 });
    t.addRequest({ id: 1, promptTokens: [7], maxTokens: 1, forks: [2] });
    expect(t.schedule().scheduled.map((x) => [x.seqId, x.numTokens, x.sample])).toEqual([
      [1, 1, true],
      [2, 1, true],
    ]);
  });
});
