// Every architecture's graph lowered to WebGPU kernels, against the reference interpreting the same
// graph: prompts past the sliding windows, prefill (tiled kernels) and decode, two sequences.
import {
  byteLevelTokenizer,
  GgmlType,
  type GgmlTypeName,
  loadSyntheticModel,
  ReferenceExecutor,
  type SyntheticModelOptions,
  sequenceBatch,
} from '@x/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuDevice } from './device.js';
import { WebGpuExecutor } from './executor.js';
import { requestGpuDevice } from './index.js';
import {
  dequantized,
  GGML_TOLERANCE,
  relativeError,
  SHAPE,
  step,
  TOLERANCE,
} from './test-helpers.js';

let gpu: GpuDevice;
beforeAll(async () => {
  gpu = await requestGpuDevice();
});
afterAll(() => gpu?.device.destroy());

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

/**
 * GeGLU's GELU: the reference looks it up in ggml's f16 table, the kernels compute it in f32, so
 * Gemma's logits agree to f16 rounding of the activation, not to f32 rounding.
 */
const GELU_TOLERANCE = 2e-3;

const ARCHITECTURES: Array<[string, SyntheticModelOptions, number]> = [
  [
    'qwen3 (q/k norm, head size of its own)',
    { ...BASE, architecture: 'qwen3', headDim: 32 },
    TOLERANCE,
  ],
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
    GELU_TOLERANCE,
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
    GELU_TOLERANCE,
  ],
  ['phi3 (fused QKV and gate·up)', { ...BASE, architecture: 'phi3', numKvHeads: 4 }, TOLERANCE],
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
    TOLERANCE,
  ],
  ['smollm3 (layers without RoPE)', { ...BASE, architecture: 'smollm3', numLayers: 4 }, TOLERANCE],
  [
    'llama with Llama 3 rope scaling',
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
    TOLERANCE,
  ],
];

const PROMPT = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % 256);

describe('WebGpuExecutor parity with ReferenceExecutor, every architecture', () => {
  for (const [name, options, tolerance] of ARCHITECTURES) {
    for (const type of ['F32', 'Q8_0'] as GgmlTypeName[]) {
      it(`${name}, ${type}`, async () => {
        const m = await loadSyntheticModel({ ...options, weightType: GgmlType[type] });
        const exe = await WebGpuExecutor.create(m, {
          ...SHAPE,
          gpu,
          maxTokensPerStep: 128,
          maxSequencesPerStep: 8,
          maxModelLen: 256,
        });
        // The reference on the same weights in f32, and on the file's own (ggml's numerics).
        const ref = new ReferenceExecutor(dequantized(m), SHAPE);
        const ggml = new ReferenceExecutor(m, SHAPE);
        const a = [0, 1, 2, 3];
        const b = [4, 5];
        const batches = [
          // Prefill: 40 tokens and 20 tokens, tiled kernels.
          sequenceBatch(step(PROMPT, 0, a), step(PROMPT.slice(0, 20), 0, b)),
          // Decodes past the windows.
          sequenceBatch(step([7], 40, a), step([9], 20, b)),
          sequenceBatch(step([11], 41, a), step([13, 17, 19], 21, b)),
        ];
        for (const batch of batches) {
          const want = ref.forward(batch);
          const wantGgml = ggml.forward(batch);
          const got = await exe.forward(batch);
          expect(relativeError(want, got)).toBeLessThan(tolerance);
          // Twice the one-layer-type tolerance: up to six layers (and LongRoPE's magnitude
          // factor) carry more of the activation rounding through.
          expect(relativeError(wantGgml, got)).toBeLessThan(
            Math.max(2 * GGML_TOLERANCE[type]!, tolerance),
          );
        }
        await exe.dispose();
      });
    }
  }
});
