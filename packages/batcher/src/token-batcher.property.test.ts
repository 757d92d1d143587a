import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BatchContext } from './options.js';
import { outcome } from './test-helpers.js';
import { TokenBatcher } from './token-batcher.js';

interface Rec {
  id: number;
  cost: number;
}

type Step =
  | { kind: 'submit'; cost: number; explicit: boolean; abortable: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'finish'; result: 'ok' | 'throw' | 'short' }
  | { kind: 'abort'; pick: number };

const optionsArb = fc
  .record({
    maxBatchSize: fc.integer({ min: 1, max: 8 }),
    targetBatchCost: fc.integer({ min: 1, max: 30 }),
    minBatchSize: fc.integer({ min: 1, max: 8 }),
    batchTimeoutMs: fc.integer({ min: 0, max: 20 }),
    maxQueueSize: fc.integer({ min: 1, max: 12 }),
    prefetchBatches: fc.integer({ min: 0, max: 3 }),
  })
  .map((o) => ({ ...o, minBatchSize: Math.min(o.minBatchSize, o.maxBatchSize, o.maxQueueSize) }));

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      cost: fc.integer({ min: 0, max: 40 }),
      explicit: fc.boolean(),
      abortable: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(30) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      result: fc.constantFrom(
        'ok' as const,
        'ok' as const,
        'ok' as const,
        'throw' as const,
        'short' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
);

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TokenBatcher invariants', () => {
  it('settles every record once with its own result and keeps every batch within bounds', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.array(stepArb, { maxLength: 60 }), async (options, steps) => {
        const running: {
          records: Rec[];
          context: BatchContext;
          finish: (result: 'ok' | 'throw' | 'short') => void;
        }[] = [];
        const batchOf = new Map<number, number>();
        const batchErrors: Error[] = [];
        const violations: string[] = [];
        const batcher = new TokenBatcher<Rec, { id: number }>({
          ...options,
          costEstimator: (r) => r.cost,
          processFn: (records, context) => {
            const cost = records.reduce((sum, r) => sum + r.cost, 0);
            if (records.length === 0 || records.length > options.maxBatchSize) {
              violations.push(`batch of ${records.length}`);
            }
            if (records.length > 1 && cost > options.targetBatchCost) {
              violations.push(`batch cost ${cost} > ${options.targetBatchCost}`);
            }
            if (context.cost !== cost) violations.push(`context cost ${context.cost} != ${cost}`);
            if (running.length > 0) violations.push('two batches at once');
            const index = batchErrors.length;
            const error = new Error(`batch ${index}`);
            batchErrors.push(error);
            for (const r of records) {
              if (batchOf.has(r.id)) violations.push(`record ${r.id} dispatched twice`);
              if (aborted.has(r.id)) violations.push(`aborted record ${r.id} dispatched`);
              batchOf.set(r.id, index);
            }
            return new Promise((resolve, reject) => {
              running.push({
                records,
                context,
                finish: (result) => {
                  running.pop();
                  if (result === 'throw') reject(error);
                  else if (result === 'short') resolve(records.slice(1).map((r) => ({ id: r.id })));
                  else resolve(records.map((r) => ({ id: r.id })));
                },
              });
            });
          },
        });
        const submitted: {
          controller: AbortController;
          abortable: boolean;
          seen: ReturnType<typeof outcome>;
        }[] = [];
        const aborted = new Map<number, unknown>();
        const failed = new Set<number>();

        const finishOne = (result: 'ok' | 'throw' | 'short') => {
          const call = running[0];
          if (call === undefined) return;
          if (result !== 'ok') failed.add(batchErrors.length - 1);
          call.finish(result);
        };

        for (const step of steps) {
          if (step.kind === 'submit') {
            const id = submitted.length;
            const controller = new AbortController();
            const record = { id, cost: step.cost };
            const seen = outcome(
              batcher.submit(record, {
                ...(step.explicit ? { estimatedCost: step.cost } : {}),
                ...(step.abortable ? { signal: controller.signal } : {}),
              }),
            );
            submitted.push({ controller, abortable: step.abortable, seen });
          } else if (step.kind === 'advance') {
            await vi.advanceTimersByTimeAsync(step.ms);
          } else if (step.kind === 'finish') {
            finishOne(step.result);
            await vi.advanceTimersByTimeAsync(0);
          } else if (submitted.length > 0) {
            const id = step.pick % submitted.length;
            const entry = submitted[id]!;
            if (entry.abortable && entry.seen.status === 'pending' && !aborted.has(id)) {
              const reason = new Error(`abort ${id}`);
              aborted.set(id, reason);
              entry.controller.abort(reason);
            }
          }
        }

        let closed = false;
        void batcher.close().then(() => {
          closed = true;
        });
        for (let guard = 0; !closed && guard < 10_000; guard++) {
          finishOne('ok');
          await vi.advanceTimersByTimeAsync(25);
        }
        expect(closed).toBe(true);
        expect(violations).toEqual([]);

        submitted.forEach(({ seen }, id) => {
          expect(seen.status).not.toBe('pending');
          const batch = batchOf.get(id);
          if (aborted.has(id)) {
            // Aborted before its batch ran, or while it ran: either way, the abort reason wins
            // unless the record had settled already.
            if (seen.status === 'rejected' && seen.reason === aborted.get(id)) return;
          }
          expect(batch).toBeDefined();
          if (seen.status === 'fulfilled') {
            expect(seen.value).toEqual({ id });
            expect(failed.has(batch!)).toBe(false);
          } else {
            expect(failed.has(batch!)).toBe(true);
            const reason = seen.reason as Error & { code?: string };
            const ok = reason === batchErrors[batch!] || reason.code === 'BATCHER_RESULT_LENGTH';
            expect(ok).toBe(true);
          }
        });

        const stats = batcher.stats;
        expect(stats.records).toBe(batchOf.size);
        expect(stats.queueDepth).toBe(0);
        expect(stats.waitingForRoom).toBe(0);
        expect(stats.running).toBe(false);
      }),
      { numRuns: 1000 },
    );
    // A thousand generated runs take ~0.5 s alone, but CI runs every package's tests at once on
    // two cores; the limit guards against a hang, not a speed.
  }, 120_000);
});
