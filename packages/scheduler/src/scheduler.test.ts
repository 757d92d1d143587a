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
    expect(s.kv.numFreeBlocks).toBe(16);
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
    expect(s.kv.numFreeBlocks).toBe(8);
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
      expect(s.kv.numFreeBlocks).toBe(8);
    },
  );

  it('runs higher-priority requests first under the priority policy', () => {
    const s = new Scheduler({ numBlocks: 64, blockSize: 4, policy: 'priority', maxBatchSize: 1 });
    s.addRequest({ id: 1, promptTokens: [1], maxTokens: 1, priority: 5 });
    s.addRequest({ id: 2, promptTokens: [2], maxTokens: 1, priority: 1 });
    expect(s.schedule().scheduled.map((x) => x.seqId)).toEqual([2]);
  });
});
