import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockManager } from './block-manager.js';
import { KvCacheError } from './errors.js';

type Op =
  | { kind: 'allocate'; prefix: number; length: number; tail: number }
  | { kind: 'commit' | 'free' | 'fork' | 'swapOut' | 'swapIn'; pick: number }
  | { kind: 'append'; pick: number; count: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('allocate' as const),
    prefix: fc.nat(2),
    length: fc.integer({ min: 1, max: 40 }),
    tail: fc.nat(1000),
  }),
  fc.record({
    kind: fc.constantFrom(
      'commit' as const,
      'free' as const,
      'fork' as const,
      'swapOut' as const,
      'swapIn' as const,
    ),
    pick: fc.nat(),
  }),
  fc.record({
    kind: fc.constant('append' as const),
    pick: fc.nat(),
    count: fc.integer({ min: 1, max: 9 }),
  }),
);

/** Three shared prefixes, so prompts hit the prefix cache. */
const PREFIXES = [0, 1, 2].map((p) => Array.from({ length: 40 }, (_, i) => p * 1000 + i));

/** Reference counts equal holders on both pools, and free + used = pool. */
function checkInvariants(kv: BlockManager) {
  const device = new Map<number, number>();
  const host = new Map<number, number>();
  for (const id of kv.sequenceIds()) {
    const table = kv.blockTable(id);
    expect(table.length).toBe(Math.ceil(kv.numTokens(id) / kv.blockSize));
    const counts = kv.isSwappedOut(id) ? host : device;
    for (const block of table) counts.set(block, (counts.get(block) ?? 0) + 1);
  }
  for (const [pool, counts] of [
    [kv.device, device],
    [kv.host, host],
  ] as const) {
    if (!pool) continue;
    let used = 0;
    for (let b = 0; b < pool.numBlocks; b++) {
      expect(pool.refCount(b), `block ${b}`).toBe(counts.get(b) ?? 0);
      if (pool.refCount(b) > 0) used++;
    }
    expect(pool.numFreeBlocks + used).toBe(pool.numBlocks);
  }
}

function snapshot(kv: BlockManager) {
  return JSON.stringify({
    seqs: kv
      .sequenceIds()
      .map((id) => [id, kv.numTokens(id), kv.blockTable(id), kv.isSwappedOut(id)]),
    free: kv.numFreeBlocks,
    hostFree: kv.host?.numFreeBlocks,
  });
}

describe('BlockManager invariants', () => {
  it('keep reference counts equal to holders through random workloads, and errors change nothing', () => {
    fc.assert(
      fc.property(
        fc.record({
          numBlocks: fc.integer({ min: 1, max: 24 }),
          blockSize: fc.integer({ min: 1, max: 8 }),
          numHostBlocks: fc.integer({ min: 0, max: 12 }),
          enablePrefixCaching: fc.boolean(),
        }),
        fc.array(op, { maxLength: 60 }),
        (config, ops) => {
          const kv = new BlockManager({ ...config, watermark: 0 });
          let nextId = 0;
          for (const o of ops) {
            const ids = kv.sequenceIds();
            const pick = 'pick' in o && ids.length > 0 ? ids[o.pick % ids.length]! : -1;
            const before = snapshot(kv);
            try {
              switch (o.kind) {
                case 'allocate': {
                  const prompt = [...PREFIXES[o.prefix]!.slice(0, o.length), o.tail];
                  const status = kv.canAllocate(prompt);
                  if (status === 'ok') {
                    const { numCachedTokens } = kv.allocate(nextId++, prompt);
                    expect(numCachedTokens).toBeLessThan(prompt.length);
                  }
                  break;
                }
                case 'commit':
                  if (pick >= 0 && !kv.isSwappedOut(pick))
                    kv.commitComputed(pick, kv.numTokens(pick));
                  break;
                case 'append':
                  if (pick >= 0)
                    kv.appendSlots(
                      pick,
                      Array.from({ length: o.count }, (_, i) => i),
                    );
                  break;
                case 'fork':
                  if (pick >= 0) kv.fork(pick, nextId++);
                  break;
                case 'free':
                  if (pick >= 0) kv.free(pick);
                  break;
                case 'swapOut':
                  if (pick >= 0) kv.swapOut(pick);
                  break;
                case 'swapIn':
                  if (pick >= 0) kv.swapIn(pick);
                  break;
              }
            } catch (error) {
              expect(error).toBeInstanceOf(KvCacheError);
              expect(snapshot(kv)).toBe(before);
            }
            checkInvariants(kv);
          }
          for (const id of kv.sequenceIds()) kv.free(id);
          expect(kv.numFreeBlocks).toBe(config.numBlocks);
          if (kv.host) expect(kv.host.numFreeBlocks).toBe(config.numHostBlocks);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
