import { afterAll, bench, describe } from 'vitest';
import { Scheduler } from '../src/index.js';

// schedule() + update() per engine step with 256 running sequences on a 4096-block pool.
// - decode: all 256 decode every step; they generate 200 tokens, then the whole batch is
//   replaced at once, so 1 step in 200 is a prefill and the median is a pure decode step.
// - mixed: requests generate 32–95 tokens (staggered), so a few finish and a few newcomers
//   prefill every step, as in a server at steady load.
const RUNNING = 256;
const prompt = Array.from({ length: 32 }, (_, i) => i + 1);

function workload(maxTokens: (id: number) => number) {
  const scheduler = new Scheduler({
    numBlocks: 4096,
    blockSize: 16,
    maxBatchSize: RUNNING,
    maxNumSeqs: RUNNING,
    maxTotalTokens: 4096,
    maxModelLen: 4096,
  });
  let nextId = 0;
  const add = () => {
    scheduler.addRequest({ id: nextId, promptTokens: prompt, maxTokens: maxTokens(nextId) });
    nextId++;
  };
  for (let i = 0; i < RUNNING; i++) add();
  const sampled = new Map<number, number>();
  const times: number[] = [];
  const step = (record: boolean) => {
    const t0 = performance.now();
    const out = scheduler.schedule();
    sampled.clear();
    for (const s of out.scheduled) if (s.sample) sampled.set(s.seqId, 5);
    const finished = scheduler.update(out, sampled);
    if (record) times.push(performance.now() - t0);
    for (let i = 0; i < finished.length; i++) add();
  };
  // Warm up: past the first prefill, and (mixed) until finishes are spread out.
  for (let i = 0; i < 200; i++) step(false);
  return { step: () => step(true), times };
}

const decode = workload(() => 200);
const mixed = workload((id) => 32 + (id % 64));

describe('scheduler step, 256 sequences, 4096 blocks', () => {
  bench('decode: schedule() + update()', decode.step);
  bench('mixed decode + prefill: schedule() + update()', mixed.step);
});

afterAll(() => {
  for (const [name, { times }] of [
    ['decode', decode],
    ['mixed', mixed],
  ] as const) {
    const sorted = [...times].sort((a, b) => a - b);
    const p = (q: number) => (sorted[Math.floor((sorted.length - 1) * q)]! * 1000).toFixed(1);
    console.log(
      `scheduler step (${name}): p50 ${p(0.5)} µs, p90 ${p(0.9)} µs, p99 ${p(0.99)} µs over ${sorted.length} steps`,
    );
  }
});
