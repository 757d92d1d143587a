// What the HTTP layer adds to the engine: 32 concurrent streams of an executor that answers at
// once, read straight from the engine and then through the server (SSE over a real socket).

import { Worker } from 'node:worker_threads';
import { InferenceEngine } from '@x/engine';
import type { ForwardBatch, ForwardResult, KvCacheShape, Model, ModelExecutor } from '@x/model';
import { bench, describe } from 'vitest';
import { startServer } from '../src/serve.js';
import { tinyModel } from '../src/test-helpers.js';

/** Samples 'a'..'z' for every sequence without computing anything. */
class InstantExecutor implements ModelExecutor {
  private n = 0;
  constructor(
    readonly config: Model['config'],
    readonly kvCache: KvCacheShape,
  ) {}
  async execute(batch: ForwardBatch): Promise<ForwardResult> {
    let count = 0;
    for (const s of batch.sequences) if (s.sample) count++;
    const tokens = new Int32Array(count);
    for (let i = 0; i < count; i++) tokens[i] = 97 + (this.n++ % 26);
    return { tokens, logprobs: new Array(count) };
  }
  async dispose(): Promise<void> {}
}

const STREAMS = 32;
const TOKENS = 200;
const RUNS = 7;
const PROMPT = 'The quick brown fox jumps over the lazy dog.';

const engine = await InferenceEngine.create({
  model: await tinyModel(),
  executor: (m, kv) => new InstantExecutor(m.config, kv),
  kvCacheMemoryMb: 64,
  log: false,
});
const server = await startServer({ engine, port: 0 });

interface Run {
  /** Median over streams of the time to the first token, ms. */
  ttft: number;
  /** Wall time of the whole run per token of one stream, ms. */
  perToken: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function engineRun(streams: number): Promise<Run> {
  const t0 = performance.now();
  const firsts = await Promise.all(
    Array.from({ length: streams }, async () => {
      const stream = engine.generate(PROMPT, { maxTokens: TOKENS, temperature: 0 });
      let first = 0;
      for await (const _ of stream) first ||= performance.now() - t0;
      return first;
    }),
  );
  return { ttft: median(firsts), perToken: (performance.now() - t0) / TOKENS };
}

// The HTTP clients run in a worker thread, so their parsing does not share a core with the server.
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, tokens, prompt } = workerData;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
parentPort.on('message', async (streams) => {
  const t0 = performance.now();
  const firsts = await Promise.all(Array.from({ length: streams }, async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt, max_tokens: tokens, temperature: 0, stream: true }),
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let first = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!first && value.includes('"text":"') && !value.includes('"text":""')) first = performance.now() - t0;
    }
    return first;
  }));
  parentPort.postMessage({ ttft: median(firsts), perToken: (performance.now() - t0) / tokens });
});
`;
const client = new Worker(CLIENT, {
  eval: true,
  workerData: {
    url: `${server.url}/v1/completions`,
    streams: STREAMS,
    tokens: TOKENS,
    prompt: PROMPT,
  },
});

function httpRun(streams: number): Promise<Run> {
  return new Promise((resolve) => {
    client.once('message', resolve);
    client.postMessage(streams);
  });
}

describe(`${STREAMS} concurrent streams of ${TOKENS} tokens, instant executor`, () => {
  bench(
    'engine alone, then through HTTP (figures printed)',
    async () => {
      const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
      const lines: string[] = [];
      for (const streams of [1, STREAMS]) {
        const engineRuns: Run[] = [];
        const httpRuns: Run[] = [];
        await engineRun(streams); // warm-up
        await httpRun(streams);
        for (let i = 0; i < RUNS; i++) {
          engineRuns.push(await engineRun(streams));
          httpRuns.push(await httpRun(streams));
        }
        const e = (f: (r: Run) => number) => median(engineRuns.map(f));
        const h = (f: (r: Run) => number) => median(httpRuns.map(f));
        const ttft = (r: Run) => r.ttft;
        const step = (r: Run) => r.perToken;
        lines.push(
          `${streams} stream(s) × ${TOKENS} tokens, medians of ${RUNS} runs:`,
          `  time to first token: engine ${us(e(ttft))}, HTTP ${us(h(ttft))}: +${us(h(ttft) - e(ttft))}`,
          `  wall time per step (${streams} chunk(s)): engine ${us(e(step))}, HTTP ${us(h(step))}: ` +
            `+${us(h(step) - e(step))}, ${us((h(step) - e(step)) / streams)} per chunk`,
        );
      }
      console.log(`${lines.join('\n')}\n(target: ≤ 1 ms added per token)`);
    },
    {
      iterations: 1,
      warmupIterations: 0,
      teardown: async () => {
        await client.terminate();
        await server.close();
        await engine.close();
      },
    },
  );
});
