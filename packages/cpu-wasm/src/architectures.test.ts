// Every architecture's graph lowered to the CPU kernels, against the reference interpreting the
// same graph on the same (quantized) weights: prompts past the sliding windows, prefill and
// decode, two sequences, two threads. Never skipped.
import {
  byteLevelTokenizer,
  GgmlType,
  loadSyntheticModel,
  ReferenceExecutor,
  type SyntheticModelOptions,
  sequenceBatch,
} from '@x/model';
import { describe, expect, it } from 'vitest';
import { CpuWasmExecutor } from './index.js';
import { PARITY_TOLERANCE, relativeError, SHAPE, step } from './test-helpers.js';

const BASE: SyntheticModelOptions = {
  architecture: 'llama',
  tokenizer: byteLevelTokenizer(),
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 256,
  logitScale: 4,
  seed: 11,
};

const ARCHITECTURES: Array<[string, SyntheticModelOptions]> = [
  ['llama', BASE],
  ['mistral', { ...BASE, architecture: 'mistral' }],
  ['qwen2 (QKV biases)', { ...BASE, architecture: 'qwen2' }],
  ['qwen3 (q/k norm, head size of its own)', { ...BASE, architecture: 'qwen3', headDim: 32 }],
  [
    'gemma2 (GeGLU, sandwich norms, soft-capping, sliding window)',
    {
      ...BASE,
      architecture: 'gemma2',
      numLayers: 4,
      headDim: 32,
      slidingWindow: 16,
      attnLogitSoftcap: 5,
      finalLogitSoftcap: 3,
    },
  ],
  [
    'gemma3 (q/k norm, local and global layers with their own rope bases)',
    {
      ...BASE,
      architecture: 'gemma3',
      numLayers: 6,
      headDim: 32,
      slidingWindow: 16,
      ropeTheta: 1_000_000,
      tieWordEmbeddings: true,
    },
  ],
  ['phi3 (fused QKV and gate·up)', { ...BASE, architecture: 'phi3', numKvHeads: 4 }],
  [
    'phi3 with partial rotary and LongRoPE (Phi-4-mini)',
    {
      ...BASE,
      architecture: 'phi3',
      partialRotaryFactor: 0.75,
      longRope: {
        short: [1, 1.2, 1.5, 2, 2.5, 3],
        long: [1, 2, 4, 8, 16, 32],
        originalContextLength: 32,
      },
    },
  ],
  ['smollm3 (layers without RoPE)', { ...BASE, architecture: 'smollm3', numLayers: 4 }],
  [
    'llama with Llama 3 rope scaling (original context 32)',
    {
      ...BASE,
      ropeTheta: 500000,
      llama3RopeScaling: {
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalContextLength: 32,
      },
    },
  ],
];

const PROMPT = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % 256);

describe('CpuWasmExecutor parity with ReferenceExecutor, every architecture', () => {
  for (const [name, options] of ARCHITECTURES) {
    for (const type of ['F16', 'Q8_0'] as const) {
      it(`${name}, ${type}`, async () => {
        const m = await loadSyntheticModel({ ...options, weightType: GgmlType[type] });
        const exe = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2 });
        const ref = new ReferenceExecutor(m, SHAPE);
        try {
          const a = [0, 1, 2, 3];
          const b = [4, 5];
          for (const batch of [
            sequenceBatch(step(PROMPT, 0, a), step(PROMPT.slice(0, 20), 0, b)),
            sequenceBatch(step([7], 40, a), step([9], 20, b)),
            sequenceBatch(step([11], 41, a), step([13, 17, 19], 21, b)),
          ]) {
            expect(relativeError(ref.forward(batch), await exe.forward(batch))).toBeLessThan(
              PARITY_TOLERANCE,
            );
          }
        } finally {
          await exe.dispose();
        }
      });
    }
  }
});
