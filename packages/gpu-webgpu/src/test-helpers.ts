// Shared by the parity tests: tolerances, the reference on dequantized weights, and batch helpers.
import {
  dequantizeRow,
  type ForwardBatch,
  GgmlType,
  type Model,
  type ReferenceExecutor,
  type SequenceStep,
  type WeightMatrix,
} from '@x/model';
import { expect } from 'vitest';
import type { WebGpuExecutor } from './executor.js';
import { maxRelativeError } from './kernels/harness.js';

export const SHAPE = { numBlocks: 32, blockSize: 16, numHostBlocks: 8 };

export const ids = (text: string) => [...Buffer.from(text, 'utf8')];

/**
 * Logits may differ from the reference on the same weights (dequantized to F32) by this much,
 * relative to the row's largest magnitude: f32 sums in another order.
 */
export const TOLERANCE = 2e-5;
/**
 * …and from the reference on the quantized weights by this much: it quantizes activations as
 * ggml's CPU backend does (F16, BF16, Q8_0, Q8_K), the kernels keep them f32.
 */
export const GGML_TOLERANCE: Record<string, number> = {
  F32: 2e-5,
  F16: 2e-3,
  BF16: 2e-2,
  Q8_0: 5e-2,
  Q4_0: 5e-2,
  Q4_1: 5e-2,
  Q5_0: 5e-2,
  Q5_1: 5e-2,
  Q2_K: 5e-2,
  Q3_K: 5e-2,
  Q4_K: 5e-2,
  Q5_K: 5e-2,
  Q6_K: 5e-2,
  IQ4_NL: 5e-2,
  IQ4_XS: 5e-2,
};

/** Largest |a − b| over rows, relative to each row's largest |a|. */
export function relativeError(want: Float32Array[], got: Float32Array[]): number {
  expect(got.length).toBe(want.length);
  return Math.max(0, ...want.map((row, r) => maxRelativeError(row, got[r]!)));
}

/**
 * The model with every weight matrix dequantized to F32: the reference then computes in f32 as
 * the kernels do, so the two agree to rounding.
 */
export function f32(w: WeightMatrix): WeightMatrix;
export function f32(w: WeightMatrix | undefined): WeightMatrix | undefined;
export function f32(w: WeightMatrix | undefined): WeightMatrix | undefined {
  if (!w) return undefined;
  const values = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    dequantizeRow(w.type, w.data, r * w.rowBytes, values, r * w.cols, w.cols);
  }
  return { ...w, type: GgmlType.F32, rowBytes: w.cols * 4, data: new Uint8Array(values.buffer) };
}

/** `m` with every V projection in F32: Q, K and V of different types, so not fused. */
export function vInF32(m: Model): Model {
  const layers = m.weights.layers.map((l) => ({ ...l, wv: f32(l.wv) }));
  return { ...m, weights: { ...m.weights, layers } };
}

export function dequantized(m: Model): Model {
  const { weights } = m;
  const embedding = f32(weights.tokenEmbedding);
  return {
    ...m,
    weights: {
      ...weights,
      tokenEmbedding: embedding,
      output: weights.output === weights.tokenEmbedding ? embedding : f32(weights.output),
      layers: weights.layers.map((l) => ({
        ...l,
        wq: f32(l.wq),
        wk: f32(l.wk),
        wv: f32(l.wv),
        wqkv: f32(l.wqkv),
        wo: f32(l.wo),
        wGate: f32(l.wGate),
        wUp: f32(l.wUp),
        wDown: f32(l.wDown),
      })),
    },
  };
}

export async function compare(ref: ReferenceExecutor, exe: WebGpuExecutor, batch: ForwardBatch) {
  const want = ref.forward(batch);
  const got = await exe.forward(batch);
  const e = relativeError(want, got);
  return e;
}

export const step = (
  tokens: number[],
  start: number,
  blockTable: number[],
  extra: Partial<SequenceStep> = {},
) =>
  ({ tokenIds: tokens, start, blockTable, blockSize: SHAPE.blockSize, ...extra }) as SequenceStep;
