// Decode at batch 1, 4 and 16 and a 128-token prefill, on WebGpuExecutor and ReferenceExecutor with
// the same generated model (the demo model's shapes: 6 layers, width 256, 8 heads / 2 KV heads,
// FFN 704, vocabulary 4096, Q8_0), plus per-kernel GPU times from timestamp queries.
// tok/s = the bench's ops/s × the batch's tokens.
import {
  type ForwardBatch,
  GgmlType,
  loadSyntheticModel,
  type ModelExecutor,
  ReferenceExecutor,
  sequenceBatch,
} from '@x/model';
import { afterAll, bench, describe } from 'vitest';
import { type KernelTiming, requestGpuDevice, WebGpuExecutor } from '../src/index.js';

const vocab = Array.from({ length: 4096 }, (_, i) => `t${i}`);
const model = await loadSyntheticModel(
  {
    architecture: 'llama',
    tokenizer: {
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': 'smollm',
      'tokenizer.ggml.tokens': vocab,
      'tokenizer.ggml.merges': [],
    },
    hiddenSize: 256,
    intermediateSize: 704,
    numLayers: 6,
    numHeads: 8,
    numKvHeads: 2,
    contextLength: 512,
    tieWordEmbeddings: true,
    weightType: GgmlType.Q8_0,
  },
  'demo-shapes-q8_0.gguf',
);
const SHAPE = { numBlocks: 512, blockSize: 16 };
const gpu = await requestGpuDevice();
const webgpu = await WebGpuExecutor.create(model, {
  ...SHAPE,
  gpu,
  maxTokensPerStep: 256,
  maxSequencesPerStep: 16,
  maxModelLen: 512,
});
const reference = new ReferenceExecutor(model, SHAPE);
console.log(`adapter: ${webgpu.info.adapter}; features: ${webgpu.info.features.join(', ')}`);

/** `batch` sequences decoding one token each at position 200 (a 200-token context). */
function decode(batch: number): ForwardBatch {
  return sequenceBatch(
    ...Array.from({ length: batch }, (_, s) => ({
      tokenIds: [17 + s],
      start: 200,
      blockTable: Array.from({ length: 13 }, (_, b) => s * 13 + b),
      blockSize: SHAPE.blockSize,
      sampling: { temperature: 0 },
    })),
  );
}
const prefill = sequenceBatch({
  tokenIds: Array.from({ length: 128 }, (_, i) => (i * 37) % 4096),
  start: 0,
  blockTable: Array.from({ length: 8 }, (_, b) => 300 + b),
  blockSize: SHAPE.blockSize,
  sampling: { temperature: 0 },
});

const cases: Array<[string, ForwardBatch, number]> = [
  ['decode batch 1', decode(1), 1],
  ['decode batch 4', decode(4), 4],
  ['decode batch 16', decode(16), 16],
  ['prefill 128 tokens', prefill, 128],
];
const executors: Array<[string, ModelExecutor]> = [
  ['WebGpuExecutor', webgpu],
  ['ReferenceExecutor', reference],
];
for (const [name, batch, tokens] of cases) {
  describe(`${name} (${tokens} token(s) per step)`, () => {
    for (const [executorName, executor] of executors) {
      bench(
        executorName,
        async () => {
          await executor.execute(batch);
        },
        { time: 2000, iterations: 3, warmupIterations: 1 },
      );
    }
  });
}

const PROFILE_RUNS = 5;

afterAll(async () => {
  if (gpu.features.has('timestamp-query')) {
    for (const [name, batch] of [cases[0]!, cases[3]!]) {
      await webgpu.profile(batch); // warm
      // Each kernel's median over a few profiled steps: the machine is shared and noisy.
      const runs: KernelTiming[][] = [];
      for (let i = 0; i < PROFILE_RUNS; i++) runs.push(await webgpu.profile(batch));
      const timings = runs[0]!.map((first) => {
        const times = runs
          .map((run) => run.find((t) => t.kernel === first.kernel)?.ms ?? 0)
          .sort((a, b) => a - b);
        return { ...first, ms: times[Math.floor(times.length / 2)]! };
      });
      timings.sort((a, b) => b.ms - a.ms);
      const total = timings.reduce((n, t) => n + t.ms, 0);
      console.log(
        `\nper-kernel GPU time, ${name} (timestamp queries, median of ${PROFILE_RUNS} steps; total ${total.toFixed(3)} ms):`,
      );
      for (const t of timings) {
        console.log(`  ${t.kernel.padEnd(22)} ${t.ms.toFixed(3).padStart(9)} ms  ×${t.dispatches}`);
      }
    }
  }
  await webgpu.dispose();
  gpu.device.destroy();
});
