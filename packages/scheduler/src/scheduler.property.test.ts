import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchedulerError } from './errors.js';
import { Scheduler } from './scheduler.js';

interface Arrival {
  step: number;
  promptLength: number;
  maxTokens: number;
  priority: number;
  prefix: number;
  /** Choices besides the request itself that sample its prompt (`forks`). */
  copies: number;
}

const workload = fc.record({
  numBlocks: fc.integer({ min: 2, max: 40 }),
  blockSize: fc.integer({ min: 1, max: 8 }),
  numHostBlocks: fc.integer({ min: 0, max: 40 }),
  maxBatchSize: fc.integer({ min: 1, max: 8 }),
  maxTotalTokens: fc.integer({ min: 1, max: 64 }),
  maxModelLen: fc.integer({ min: 2, max: 80 }),
  policy: fc.constantFrom('fcfs' as const, 'priority' as const),
  preemptionMode: fc.constantFrom('recompute' as const, 'swap' as const),
  enablePrefixCaching: fc.boolean(),
  arrivals: fc.array(
    fc.record({
      step: fc.nat(30),
      promptLength: fc.integer({ min: 1, max: 60 }),
      maxTokens: fc.integer({ min: 1, max: 30 }),
      priority: fc.nat(3),
      prefix: fc.nat(2),
      copies: fc.nat(2),
    }),
    { maxLength: 12 },
  ),
  aborts: fc.array(fc.record({ step: fc.nat(40), pick: fc.nat() }), { maxLength: 4 }),
  forks: fc.array(fc.record({ step: fc.nat(40), pick: fc.nat(), token: fc.nat(50) }), {
    maxLength: 6,
  }),
});

describe('Scheduler with BlockManager, random workloads', () => {
  it('keeps budgets and block accounting every step, never loses tokens, and finishes every request', () => {
    fc.assert(
      fc.property(workload, (w) => {
        const s = new Scheduler({ ...w, maxNumSeqs: Math.max(w.maxBatchSize, 8) });
        const pending = new Map<number, Arrival>(w.arrivals.map((a, id) => [id, a]));
        const generated = new Map<number, number[]>();
        const ended = new Set<number>();
        for (let step = 0; step < 5000; step++) {
          for (const [id, a] of pending) {
            if (a.step > step) continue;
            pending.delete(id);
            const prompt = Array.from({ length: a.promptLength }, (_, i) => a.prefix * 1000 + i);
            const forks = Array.from({ length: a.copies }, (_, k) => 100_000 + id * 10 + k);
            const rejected = s.addRequest({
              id,
              promptTokens: prompt,
              maxTokens: a.maxTokens,
              priority: a.priority,
              forks,
            });
            if (rejected) {
              expect(rejected.reason.length).toBeGreaterThan(0);
              ended.add(id);
            } else for (const x of [id, ...forks]) generated.set(x, []);
          }
          for (const abort of w.aborts) {
            const live = [...generated.keys()].filter((id) => !ended.has(id));
            if (abort.step === step && live.length > 0) {
              const id = live[abort.pick % live.length]!;
              expect(s.abort(id)).toBe(true);
              ended.add(id);
            }
          }
          if (!s.hasPendingWork() && pending.size === 0) break;

          const out = s.schedule();
          // Budgets of the step.
          expect(out.scheduled.length).toBeLessThanOrEqual(w.maxBatchSize);
          expect(out.numBatchedTokens).toBeLessThanOrEqual(w.maxTotalTokens);
          expect(out.scheduled.reduce((n, x) => n + x.numTokens, 0)).toBe(out.numBatchedTokens);
          expect(new Set(out.scheduled.map((x) => x.seqId)).size).toBe(out.scheduled.length);
          expect(s.numRunning + s.numSwapped).toBeLessThanOrEqual(Math.max(w.maxBatchSize, 8));
          expect(out.tokenIds).toHaveLength(out.numBatchedTokens);
          expect(out.slotMapping).toHaveLength(out.numBatchedTokens);
          let offset = 0;
          for (const x of out.scheduled) {
            expect(x.offset).toBe(offset);
            offset += x.numTokens;
          }
          // Block accounting: every block's reference count equals the tables holding it.
          const holders = new Map<number, number>();
          for (const id of s.inspectBlocks().sequenceIds()) {
            if (s.inspectBlocks().isSwappedOut(id)) continue;
            for (const b of s.inspectBlocks().blockTable(id))
              holders.set(b, (holders.get(b) ?? 0) + 1);
          }
          let used = 0;
          for (let b = 0; b < w.numBlocks; b++) {
            expect(s.inspectBlocks().device.refCount(b)).toBe(holders.get(b) ?? 0);
            if (holders.has(b)) used++;
          }
          expect(s.inspectBlocks().numFreeBlocks + used).toBe(w.numBlocks);

          const sampled = new Map(
            out.scheduled.filter((x) => x.sample).map((x) => [x.seqId, 7 + step]),
          );
          for (const [id, token] of sampled) generated.get(id)?.push(token);
          const finished = s.update(out, sampled);
          for (const f of finished) {
            expect(f.outputTokens).toEqual(generated.get(f.id));
            ended.add(f.id);
          }
          // Parallel sampling: fork a live sequence, giving the child its own first token.
          w.forks.forEach((fork, k) => {
            const live = [...generated.keys()].filter((id) => !ended.has(id));
            if (fork.step !== step || live.length === 0) return;
            const parent = live[fork.pick % live.length]!;
            const child = 10_000 + k;
            try {
              s.fork(parent, child, 900 + fork.token);
            } catch (error) {
              expect(error).toBeInstanceOf(SchedulerError);
              return;
            }
            generated.set(child, [...generated.get(parent)!.slice(0, -1), 900 + fork.token]);
          });
          // Tokens are never lost across preemption.
          for (const [id, tokens] of generated) {
            if (!ended.has(id)) expect(s.outputTokens(id)).toEqual(tokens);
          }
        }
        expect(s.hasPendingWork()).toBe(false);
        expect(pending.size).toBe(0);
        for (const id of generated.keys()) expect(ended.has(id)).toBe(true);
        expect(s.inspectBlocks().numFreeBlocks).toBe(w.numBlocks);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
