import {
  createPreparedActivations,
  dotPrepared,
  ggmlTypeTraits,
  prepareActivations,
  quantize,
  type SequenceStep,
  vecDotType,
  type WeightMatrix,
} from '@x/model';
import { align16, packedBytes, packWeight } from './pack.js';
import { instantiateKernels, type KernelExports, kernelMemory } from './wasm.js';

/** A deterministic generator of values in [-1, 1) (xorshift32). */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

/** A weight matrix of `type` quantized from random values (some rows scaled up, some down). */
export function randomWeight(type: number, rows: number, cols: number, seed: number): WeightMatrix {
  const next = random(seed);
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = 0.05 + (r % 7) * 0.3;
    for (let c = 0; c < cols; c++) values[r * cols + c] = next() * scale;
  }
  const data = quantize(type, values);
  const { blockSize, typeSize } = ggmlTypeTraits(type);
  return { name: 'w', type, rows, cols, rowBytes: (cols / blockSize) * typeSize, data };
}

/**
 * Runs the wasm matmul of a random `type` weight (`rows × cols`) against `tokens` random
 * activation rows, and the reference (`@x/model`'s ggml-faithful prepareActivations and
 * dotPrepared) beside it. Returns the largest difference relative to the largest reference value.
 */
export function matmulError(
  type: number,
  rows: number,
  cols: number,
  tokens: number,
  seed = 1,
  expand = false,
): { error: number; wasm: Float32Array; reference: Float32Array } {
  const w = randomWeight(type, rows, cols, seed);
  const next = random(seed + 1);
  const x = Float32Array.from({ length: tokens * cols }, () => next() * 3);
  const memory = kernelMemory(1 << 20, 1 << 30);
  const k: KernelExports = instantiateKernels(memory);
  const actType = vecDotType(type);
  const actRowBytes = k.actRowBytes(actType, cols);
  let at = align16(k.heapBase());
  // 8 KiB more: the kernels touch the weight stream ahead of what they compute (WEIGHT_TAIL).
  const need =
    packedBytes(w, expand) + x.byteLength + tokens * actRowBytes + tokens * rows * 4 + 8192;
  const grow = Math.ceil((at + need - memory.buffer.byteLength) / 65536);
  if (grow > 0) memory.grow(grow);
  const packed = packWeight(w, memory.buffer, at, expand);
  at = align16(at + packed.bytes);
  const xPtr = at;
  new Float32Array(memory.buffer, xPtr, x.length).set(x);
  at = align16(at + x.byteLength);
  const actPtr = at;
  at = align16(at + tokens * actRowBytes);
  const outPtr = at;
  for (let t = 0; t < tokens; t++) {
    k.prepareRange(actType, xPtr + t * cols * 4, cols, 0, cols, actPtr + t * actRowBytes);
  }
  k.matmul(
    packed.type,
    packed.ptr,
    packed.aux,
    packed.rowBytes,
    0,
    rows,
    cols,
    actPtr,
    actRowBytes,
    tokens,
    outPtr,
    rows,
    0,
  );
  const wasm = new Float32Array(memory.buffer, outPtr, tokens * rows).slice();
  const reference = new Float32Array(tokens * rows);
  const act = createPreparedActivations(cols);
  for (let t = 0; t < tokens; t++) {
    prepareActivations(type, x, t * cols, cols, act);
    for (let r = 0; r < rows; r++)
      reference[t * rows + r] = dotPrepared(type, w.data, r * w.rowBytes, act);
  }
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < reference.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(reference[i] as number));
    maxDiff = Math.max(maxDiff, Math.abs((reference[i] as number) - (wasm[i] as number)));
  }
  return { error: maxDiff / maxRef, wasm, reference };
}

/** The KV geometry the executor tests use. */
export const SHAPE = { numBlocks: 32, blockSize: 16, numHostBlocks: 8 };

/** One sequence's step over `blockTable`, with SHAPE's block size. */
export const step = (
  tokens: number[],
  start: number,
  blockTable: number[],
  extra: Partial<SequenceStep> = {},
): SequenceStep => ({ tokenIds: tokens, start, blockTable, blockSize: SHAPE.blockSize, ...extra });

/** Largest difference between two sets of logits, relative to the largest of `want`. */
export function relativeError(want: Float32Array[], got: Float32Array[]): number {
  if (want.length !== got.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  want.forEach((w, i) => {
    const g = got[i]!;
    if (g.length !== w.length) diff = Number.POSITIVE_INFINITY;
    for (let j = 0; j < w.length; j++) {
      diff = Math.max(diff, Math.abs((w[j] as number) - (g[j] as number)));
      scale = Math.max(scale, Math.abs(w[j] as number));
    }
  });
  return diff / scale;
}

/**
 * How far the executor's logits may be from the reference's, relative to the largest logit.
 * Activations are quantized as the reference quantizes them, but from matmul outputs summed in
 * another float order (the reference follows ggml's AVX2 lanes and FMAs): a value within an ulp
 * of a rounding boundary of its vec_dot_type can round the other way, and that one quant moves
 * every output that reads it. Typical differences are 1e-7 of the largest logit (Q8_0) to 1e-3
 * (F16, whose activations round to f16); with such a flip in these small random models, up to
 * 2e-2 (measured at most 1.6e-2).
 */
export const PARITY_TOLERANCE = 3e-2;
