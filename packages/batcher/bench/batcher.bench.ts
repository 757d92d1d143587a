import { afterAll, bench, describe } from 'vitest';
import { TokenBatcher } from '../src/index.js';

// Records per throughput sample; records/s is RECORDS / (sample time).
const RECORDS = 100_000;
// Concurrent callers in the closed-loop case; each awaits its result before submitting again.
const CALLERS = 1000;
// Records submitted per event-loop turn in the stream case.
const PER_TURN = 1000;

const noop = (records: number[]) => records;

/** Sample times in ms by case, for the medians printed at the end. */
const samples = new Map<string, number[]>();

function record(name: string, ms: number): void {
  const list = samples.get(name);
  if (list === undefined) samples.set(name, [ms]);
  else list.push(ms);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

afterAll(() => {
  const lines = ['', 'median over all samples (records/s through the batcher, no-op processFn):'];
  for (const [name, list] of samples) {
    const ms = median(list);
    const figure = name.startsWith('latency')
      ? `${(ms * 1000).toFixed(1)} µs per record`
      : `${Math.round((RECORDS / ms) * 1000).toLocaleString('en-US')} records/s`;
    lines.push(`  ${name.padEnd(58)} ${figure.padStart(20)}  (${list.length} samples)`);
  }
  const { batches, meanBatchSize, maxWaitMs } = lowLoad.stats;
  lines.push(
    `  low load: ${batches} batches, mean batch size ${meanBatchSize}, ` +
      `longest wait before dispatch ${maxWaitMs.toFixed(3)} ms (timeout 50 ms)`,
  );
  console.log(lines.join('\n'));
});

async function burst(name: string, maxQueueSize?: number): Promise<void> {
  const batcher = new TokenBatcher({ processFn: noop, maxQueueSize });
  const start = performance.now();
  let last: Promise<number> | undefined;
  for (let i = 0; i < RECORDS; i++) last = batcher.submit(i);
  // Batches run in submission order, so the last record settles last.
  await last;
  record(name, performance.now() - start);
}

describe('throughput', () => {
  bench('burst: 100k submitted at once (maxQueueSize 100k)', () =>
    burst('throughput: burst, 100k at once (maxQueueSize 100k)', RECORDS),
  );

  bench('burst: 100k submitted at once (defaults: 95k wait for room)', () =>
    burst('throughput: burst, 100k at once (defaults, backpressure)'),
  );

  bench('stream: 1000 records per event-loop turn (100k records)', async () => {
    const batcher = new TokenBatcher({ processFn: noop });
    const start = performance.now();
    let last: Promise<number> | undefined;
    for (let turn = 0; turn < RECORDS / PER_TURN; turn++) {
      for (let i = 0; i < PER_TURN; i++) last = batcher.submit(i);
      await new Promise(setImmediate);
    }
    await last;
    record('throughput: stream, 1000 records per event-loop turn', performance.now() - start);
  });

  bench('closed loop: 1000 callers, each awaits its result (100k records)', async () => {
    const batcher = new TokenBatcher({ processFn: noop });
    const perCaller = RECORDS / CALLERS;
    const start = performance.now();
    const callers: Promise<void>[] = [];
    for (let c = 0; c < CALLERS; c++) {
      callers.push(
        (async () => {
          for (let i = 0; i < perCaller; i++) await batcher.submit(i);
        })(),
      );
    }
    await Promise.all(callers);
    record('throughput: closed loop, 1000 callers awaiting', performance.now() - start);
  });
});

// Shared by the low-load latency case, whose stats show each record ran alone and at once.
const lowLoad = new TokenBatcher({ processFn: noop });

describe('latency at low load (defaults: batchTimeoutMs 50, minBatchSize 1)', () => {
  const batcher = lowLoad;

  bench('one record at a time through the batcher', async () => {
    const start = performance.now();
    await batcher.submit(1);
    record('latency: one record at a time, through the batcher', performance.now() - start);
  });

  bench('one record at a time, calling the no-op function directly', async () => {
    const start = performance.now();
    await Promise.resolve(noop([1]));
    record('latency: baseline, direct call of the no-op function', performance.now() - start);
  });
});
