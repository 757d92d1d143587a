import { afterAll, bench, describe } from 'vitest';
import { Scheduler } from '../src/index.js';

// One engine step of scheduling work with 256 running decodes on a 4096-block pool: schedule()
// then update(). Requests finish after 64 tokens and are replaced, so the batch stays full and
// the occasional prefill of a newcomer is part of the cost, as in a server at steady load.
const RUNNING = 256;
const scheduler = new Scheduler({
  numBlocks: 4096,
  blockSize: 16,
  maxBatchSize: RUNNING,
  maxNumSeqs: RUNNING,
  maxTotalTokens: 4096,
  maxModelLen: 4096,
});
let nextId = 0;
const prompt = Array.from({ length: 32 }, (_, i) => i + 1);
const add = () => scheduler.addRequest({ id: nextId++, promptTokens: prompt, maxTokens: 64 });
for (let i = 0; i < RUNNING; i++) add();
const sampled = new Map<number, number>();
function step(): number {
  const out = scheduler.schedule();
  sampled.clear();
  for (const s of out.scheduled) if (s.sample) sampled.set(s.seqId, 5);
  const finished = scheduler.update(out, sampled);
  for (let i = 0; i < finished.length; i++) add();
  return out.scheduled.length;
}

// Warm up past the first prefill.
for (let i = 0; i < 3; i++) step();

const times: number[] = [];
describe('scheduler step', () => {
  bench(`schedule() + update(), ${RUNNING} running decodes, 4096 blocks`, () => {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  });
});

afterAll(() => {
  times.sort((a, b) => a - b);
  const p = (q: number) => (times[Math.floor((times.length - 1) * q)]! * 1000).toFixed(1);
  console.log(
    `scheduler step: p50 ${p(0.5)} µs, p90 ${p(0.9)} µs, p99 ${p(0.99)} µs over ${times.length} steps`,
  );
});
