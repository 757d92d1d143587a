// The engine's own cost per step: an executor that answers at once, 32 sequences decoding.
import type { ForwardBatch, ForwardResult, Model, ModelExecutor } from '@x/model';
import { bench, describe } from 'vitest';
import { InferenceEngine } from '../src/engine.js';
import type { GenerationStream } from '../src/generation-stream.js';
import { tinyModel } from '../src/test-fixtures.js';

/** Samples a printable byte for every sequence, without computing anything. */
class InstantExecutor implements ModelExecutor {
  readonly config: Model['config'];
  readonly kvCache;
  private n = 0;
  constructor(model: Model, kvCache: ModelExecutor['kvCache']) {
    this.config = model.config;
    this.kvCache = kvCache;
  }
  async execute(batch: ForwardBatch): Promise<ForwardResult> {
    let count = 0;
    for (const s of batch.sequences) if (s.sample) count++;
    const tokens = new Int32Array(count);
    for (let i = 0; i < count; i++) tokens[i] = 97 + (this.n++ % 26); // 'a'..'z'
    return { tokens, logprobs: new Array(count) };
  }
  async dispose(): Promise<void> {}
}

const model = await tinyModel();
const RUNNING = 32;
const PROMPT = 'The quick brown fox jumps over the lazy dog, twice.'; // 51 tokens
const params = { maxTokens: 400, temperature: 0, stop: ['\n\n\n'] };

async function newEngine() {
  return InferenceEngine.create({
    model,
    executor: (m, kv) => new InstantExecutor(m, kv),
    kvCacheMemoryMb: 64,
    log: false,
  });
}

describe(`engine step with ${RUNNING} sequences decoding, instant executor`, async () => {
  // The source's API: submitRequest + step(); finished requests are replaced.
  const submitted = await newEngine();
  let outstanding = 0;
  const refill = () => {
    for (; outstanding < RUNNING; outstanding++) submitted.submitRequest(PROMPT, params);
  };
  refill();
  await submitted.step(); // prefill
  bench(
    'step(), submitRequest requests (a step in 400 also prefills their replacements)',
    async () => {
      outstanding -= (await submitted.step()).length;
      refill();
    },
  );

  // A server's API: generate() streams, read by 32 consumers; the engine runs its own loop.
  const streaming = await newEngine();
  let streams: GenerationStream[] = [];
  const read = async (stream: GenerationStream) => {
    for await (const _ of stream);
  };
  const perStep: number[] = [];
  bench(
    `generate() streams: ${RUNNING} requests of ${params.maxTokens} tokens, each read by a consumer`,
    async () => {
      const steps = streaming.metrics.steps;
      const t0 = performance.now();
      streams = Array.from({ length: RUNNING }, () => streaming.generate(PROMPT, params));
      await Promise.all(streams.map(read));
      perStep.push((performance.now() - t0) / (streaming.metrics.steps - steps));
    },
    {
      iterations: 7,
      warmupIterations: 1,
      teardown: () => {
        const sorted = [...perStep].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
        console.log(
          `generate() streams: wall time per step, ${RUNNING} sequences, median of ${sorted.length} runs: ` +
            `${(median * 1000).toFixed(0)} µs (target ≤ 500 µs)`,
        );
        perStep.length = 0;
      },
    },
  );
});
