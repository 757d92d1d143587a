/**
 * Matrix-vector products the way llama.cpp's CPU backend computes them on x86-64 with AVX2: the f32
 * activation row is first converted to the weight type's `vec_dot_type` (ggml-cpu's
 * `type_traits_cpu[...].from_float`), then every weight row is dotted with it by that type's
 * `vec_dot` kernel. Bit for bit as ggml-cpu built for AVX2 + FMA + F16C with gcc (-O3, default
 * -ffp-contract=fast) — see activations.test.ts and test-fixtures/quant/activations.json:
 *
 * | weights    | activations (from_float)                  | kernel (ggml/src/ggml-cpu/...)        |
 * | ---------- | ----------------------------------------- | ------------------------------------- |
 * | Q8_0, Q4_0 | Q8_0, AVX2 `quantize_row_q8_0`            | arch/x86/quants.c vec_dot_q{8,4}_0_q8_0 |
 * | Q2_K … Q6_K | Q8_K, `quantize_row_q8_K_ref`            | arch/x86/quants.c vec_dot_q{2,3,4,5,6}_K_q8_K |
 * | F16        | F16 (F16C, round to nearest even)         | vec.cpp ggml_vec_dot_f16 (GGML_SIMD)  |
 * | BF16       | BF16 (round to nearest even)              | vec.cpp ggml_vec_dot_bf16 (AVX2)      |
 * | F32        | F32 (copy)                                | vec.cpp ggml_vec_dot_f32 (GGML_SIMD)  |
 *
 * The quantized kernels keep 8 binary32 lanes, lane l collecting the integer products of elements
 * 4l..4l+3 of every 32; each block adds `fma(d, (float)sumi_l, acc_l)`, and the lanes are summed
 * pairwise at the end (hsum_float_8). Integer sums are exact; binary32 FMA is emulated exactly with
 * doubles (see {@link fmaF32}).
 *
 * Known gaps (all outside finite ggml-quantized data): int8 quants of -128 (ggml's quantizers never
 * write them for finite inputs) take the exact product where AVX2's sign/maddubs trick would wrap or
 * saturate; NaN inputs give NaN without ggml's payloads. llama.cpp does not always reach vec_dot:
 * batches of 2+ rows of F32/F16/BF16 weights go through llamafile's tinyBLAS (one 8-lane
 * accumulator, so a different summation order; for Q8_0/Q4_0 tinyBLAS matches vec_dot bit for bit),
 * and with the CPU_REPACK buffer type on AVX2, Q4_0 and Q4_K weights are repacked and use the
 * gemv/gemm kernels of repack.cpp instead.
 */

import { GgmlType, ggmlTypeTraits, UnsupportedTensorTypeError } from '../ggml-type.js';
import { nearestInt } from './common.js';
import { f16Table32, f32ToBf16, f32ToF16 } from './half.js';
import { IQ4_LEVELS, iq4xsScale } from './iq4.js';
import { quant1 } from './q_1.js';
import { q3Scale } from './q3_k.js';
import { scaleMin } from './q4_k.js';
import { q5_0Quant } from './q5_0.js';

/** ggml's type id of Q8_K, the activation type of the K-quants (not a storage type here). */
export const GGML_TYPE_Q8_K = 15;
/** ggml's Q8_1 (32 int8 quants, f16 d and f16 s = d·Σq): the vec_dot_type of Q4_1 and Q5_1. */
export const GGML_TYPE_Q8_1 = 9;

const { fround } = Math;

/**
 * An activation row converted to a weight type's vec_dot_type, reusable across all rows of a
 * matrix. Fill it with {@link prepareActivations}; read it with {@link dotPrepared}.
 */
export interface PreparedActivations {
  /** Elements the buffers hold at most. */
  readonly maxN: number;
  /**
   * The vec_dot_type last prepared (GgmlType.Q8_0, {@link GGML_TYPE_Q8_K}, GgmlType.F16,
   * GgmlType.BF16 or GgmlType.F32), or -1 before the first {@link prepareActivations}.
   */
  vecDotType: number;
  /** Elements prepared. */
  n: number;
  /** Q8_0 / Q8_K: the n int8 quants. */
  readonly qs: Int8Array;
  /**
   * Q8_0: each block's f16 scale, decoded (one per 32 elements); Q8_K: each super-block's binary32
   * scale (one per 256).
   */
  readonly d: Float32Array;
  /** Q8_K: the sum of every 16 consecutive quants (16 per super-block). */
  readonly bsums: Int16Array;
  /** Q8_1: each block's f16 `s` (its binary32 scale times the sum of its quants), decoded. */
  readonly s: Float32Array;
  /** F32 / F16 / BF16: the n converted values, exactly, as binary32. */
  readonly values: Float32Array;
}

/** The vec_dot_type ggml-cpu converts activations to for weights of `weightType`. */
export function vecDotType(weightType: number): number {
  switch (weightType) {
    case GgmlType.F32:
    case GgmlType.F16:
    case GgmlType.BF16:
      return weightType;
    case GgmlType.Q8_0:
    case GgmlType.Q4_0:
    case GgmlType.Q5_0:
    case GgmlType.IQ4_NL:
      return GgmlType.Q8_0;
    case GgmlType.Q4_1:
    case GgmlType.Q5_1:
      return GGML_TYPE_Q8_1;
    case GgmlType.Q2_K:
    case GgmlType.Q3_K:
    case GgmlType.IQ4_XS:
    case GgmlType.Q4_K:
    case GgmlType.Q5_K:
    case GgmlType.Q6_K:
      return GGML_TYPE_Q8_K;
  }
  throw new UnsupportedTensorTypeError(
    `GGML type ${ggmlTypeTraits(weightType).name} (${weightType}) has no vec_dot kernel`,
  );
}

/** Buffers for activation rows of up to `maxN` elements (no further allocation on use). */
export function createPreparedActivations(maxN: number): PreparedActivations {
  if (!Number.isSafeInteger(maxN) || maxN < 0) {
    throw new RangeError(`maxN must be a non-negative integer, not ${String(maxN)}`);
  }
  return {
    maxN,
    vecDotType: -1,
    n: 0,
    qs: new Int8Array(maxN),
    d: new Float32Array(Math.ceil(maxN / 32)),
    s: new Float32Array(Math.ceil(maxN / 32)),
    bsums: new Int16Array(Math.ceil(maxN / 16)),
    values: new Float32Array(maxN),
  };
}

/**
 * Converts x[xOffset..xOffset+n) to the vec_dot_type of `weightType` into `out`, as ggml-cpu's
 * from_float on x86 AVX2 does (Q8_0: the AVX2 quantize_row_q8_0; Q8_K: quantize_row_q8_K_ref;
 * F16/BF16: round to nearest even; F32: copy).
 * @throws UnsupportedTensorTypeError for a weight type without a vec_dot kernel here
 * @throws RangeError when n is not whole weight blocks, exceeds out.maxN, or overruns x
 */
export function prepareActivations(
  weightType: number,
  x: Float32Array,
  xOffset: number,
  n: number,
  out: PreparedActivations,
): void {
  const type = vecDotType(weightType);
  const { name, blockSize } = ggmlTypeTraits(weightType);
  if (!Number.isSafeInteger(n) || n < 0 || n % blockSize !== 0) {
    throw new RangeError(
      `${name} weights take rows of whole ${blockSize}-element blocks; ${String(n)} is not`,
    );
  }
  if (n > out.maxN) {
    throw new RangeError(`${n} activations exceed the prepared capacity of ${out.maxN}`);
  }
  if (!Number.isSafeInteger(xOffset) || xOffset < 0 || xOffset + n > x.length) {
    throw new RangeError(
      `${n} activations at offset ${String(xOffset)} overrun an array of ${x.length}`,
    );
  }
  scalesFor(n >> 5);
  // Mark the buffers invalid while they are rewritten, so a throw cannot leave a stale type.
  out.vecDotType = -1;
  out.n = n;
  switch (type) {
    case GgmlType.Q8_0:
      quantizeQ8_0Avx2(x, xOffset, n >> 5, out.qs, out.d);
      break;
    case GGML_TYPE_Q8_1:
      quantizeQ8_0Avx2(x, xOffset, n >> 5, out.qs, out.d, out.s);
      break;
    case GGML_TYPE_Q8_K:
      quantizeQ8_K(x, xOffset, n >> 8, out.qs, out.d, out.bsums);
      break;
    case GgmlType.F16: {
      const table = f16Table32();
      const v = out.values;
      for (let i = 0; i < n; i++) v[i] = table[f32ToF16(x[xOffset + i] as number)] as number;
      break;
    }
    case GgmlType.BF16: {
      const table = bf16Table32();
      const v = out.values;
      for (let i = 0; i < n; i++) v[i] = table[f32ToBf16(x[xOffset + i] as number)] as number;
      break;
    }
    default:
      out.values.set(x.subarray(xOffset, xOffset + n));
  }
  out.vecDotType = type;
}

/**
 * Dot product of one weight row of `weightType` (act.n elements stored from byte `rowOffset` of
 * `row`, any alignment) with activations prepared for that type: ggml-cpu's x86 AVX2 vec_dot,
 * bit for bit. Allocates nothing.
 * @throws TypeError when `act` holds no activations prepared for this weight type
 * @throws RangeError when the row overruns `row`
 */
export function dotPrepared(
  weightType: number,
  row: Uint8Array,
  rowOffset: number,
  act: PreparedActivations,
): number {
  const kernel = VEC_DOTS.get(weightType);
  if (kernel === undefined) return vecDotType(weightType); // throws UnsupportedTensorTypeError
  checkPrepared(
    act,
    kernel.vecDotType,
    row,
    rowOffset,
    (act.n / kernel.blockSize) * kernel.typeSize,
  );
  return kernel.dot(row, rowOffset, act);
}

type VecDot = (row: Uint8Array, rowOffset: number, act: PreparedActivations) => number;

/** Each weight type's vec_dot, with the activation type and block layout it checks rows against. */
const VEC_DOTS: ReadonlyMap<
  number,
  { dot: VecDot; vecDotType: number; blockSize: number; typeSize: number }
> = new Map(
  (
    [
      [GgmlType.Q8_0, dotQ8_0],
      [GgmlType.Q4_0, dotQ4_0],
      [GgmlType.Q5_0, dotQ5_0],
      [GgmlType.Q4_1, (row, o, act) => dotQ_1(row, o, act, 4)],
      [GgmlType.Q5_1, (row, o, act) => dotQ_1(row, o, act, 5)],
      [GgmlType.IQ4_NL, dotIQ4_NL],
      [GgmlType.IQ4_XS, dotIQ4_XS],
      [GgmlType.Q2_K, dotQ2_K],
      [GgmlType.Q3_K, dotQ3_K],
      [GgmlType.Q4_K, dotQ4_K],
      [GgmlType.Q5_K, dotQ5_K],
      [GgmlType.Q6_K, dotQ6_K],
      [GgmlType.F16, dotF16],
      [GgmlType.BF16, dotBf16],
      [GgmlType.F32, dotF32],
    ] as Array<[number, VecDot]>
  ).map(([type, dot]) => [type, { dot, vecDotType: vecDotType(type), ...ggmlTypeTraits(type) }]),
);

function checkPrepared(
  act: PreparedActivations,
  type: number,
  row: Uint8Array,
  rowOffset: number,
  bytes: number,
): void {
  if (act.vecDotType !== type) {
    throw new TypeError(
      `activations prepared as type ${act.vecDotType} cannot be dotted with weights whose ` +
        `vec_dot_type is ${type}`,
    );
  }
  if (!(rowOffset >= 0 && rowOffset + bytes <= row.length) || !Number.isInteger(rowOffset)) {
    throw new RangeError(
      `a weight row of ${bytes} bytes at offset ${String(rowOffset)} overruns ${row.length} bytes`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Binary32 arithmetic helpers.

/**
 * fmaf(a, b, c) for binary32 a, b, c whose product is exact in a double (it is for every call here:
 * at most 48 significant bits). The double sum is correctly rounded; rounding it again to binary32
 * can only go wrong when it lands exactly on a binary32 midpoint, which is then resolved by the
 * sign of the sum's rounding error (TwoSum).
 */
function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = fround(s);
  if (r === s) return r;
  // `other` is the binary32 on the far side of s exactly when s is a midpoint.
  const other = 2 * s - r;
  if (fround(other) !== other || r - r !== 0) return r;
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  return err > 0 === other > r ? other : r;
}

/** hsum_float_8 (arch/x86/quants.c): ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)) in binary32. */
function hsum8(
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
  a6: number,
  a7: number,
): number {
  return fround(
    fround(fround(a0 + a4) + fround(a2 + a6)) + fround(fround(a1 + a5) + fround(a3 + a7)),
  );
}

/** {@link hsum8} of lanes[0..8). */
function hsumLanes(a: Float64Array): number {
  return hsum8(
    a[0] as number,
    a[1] as number,
    a[2] as number,
    a[3] as number,
    a[4] as number,
    a[5] as number,
    a[6] as number,
    a[7] as number,
  );
}

// Lane accumulators and per-lane integer sums shared by the kernels (single-threaded, never
// re-entered), so no kernel allocates.
const lanes = new Float64Array(8);
const lanes32 = new Float64Array(32);
const laneSums = new Int32Array(8);
/** Per-block combined scales of the row being dotted (grown by prepareActivations). */
let blockScales = new Float64Array(0);

/** {@link blockScales} with room for nb blocks (allocates only if prepareActivations did not). */
function scalesFor(nb: number): Float64Array {
  if (blockScales.length < nb) blockScales = new Float64Array(nb);
  return blockScales;
}

let bf16Table: Float32Array | undefined;

/** The 65,536-entry bf16 → f32 table (built on first use). */
function bf16Table32(): Float32Array {
  if (bf16Table === undefined) {
    const table = new Float32Array(65536);
    const bits = new Uint32Array(table.buffer);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
    bf16Table = table;
  }
  return bf16Table;
}

// One-entry caches of views over the buffer weight rows live in (a matrix is one buffer).
let int8Buffer: ArrayBufferLike | undefined;
let int8View: Int8Array = new Int8Array(0);
function int8ViewOf(buffer: ArrayBufferLike): Int8Array {
  if (buffer !== int8Buffer) {
    int8View = new Int8Array(buffer);
    int8Buffer = buffer;
  }
  return int8View;
}
let f32Buffer: ArrayBufferLike | undefined;
let f32View: Float32Array = new Float32Array(0);
function f32ViewOf(buffer: ArrayBufferLike): Float32Array {
  if (buffer !== f32Buffer) {
    f32View = new Float32Array(buffer, 0, buffer.byteLength >>> 2);
    f32Buffer = buffer;
  }
  return f32View;
}
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

// ---------------------------------------------------------------------------------------------
// from_float.

/**
 * The AVX2 quantize_row_q8_0: max |x| by the vector max tree (maxps keeps its second operand when
 * either is NaN), d = max/127 stored as f16, quants round(x · (127/max)) to nearest even,
 * converted with cvtps2dq (NaN and overflow → INT_MIN) and saturating packs.
 */
function quantizeQ8_0Avx2(
  x: Float32Array,
  xOffset: number,
  nb: number,
  qs: Int8Array,
  ds: Float32Array,
  sums?: Float32Array,
): void {
  const table = f16Table32();
  for (let b = 0, xi = xOffset, q = 0; b < nb; b++, xi += 32, q += 32) {
    // Eight lane maxima over the four vectors, then the 8 → 4 → 2 → 1 reduction.
    for (let l = 0; l < 8; l++) {
      let m = Math.abs(x[xi + l] as number);
      for (let v = 8; v < 32; v += 8) {
        const a = Math.abs(x[xi + v + l] as number);
        // biome-ignore lint/complexity/useMathMinMax: maxps operand order and NaN semantics
        m = m > a ? m : a;
      }
      lanes[l] = m;
    }
    const h0 = maxps(lanes[4] as number, lanes[0] as number);
    const h1 = maxps(lanes[5] as number, lanes[1] as number);
    const h2 = maxps(lanes[6] as number, lanes[2] as number);
    const h3 = maxps(lanes[7] as number, lanes[3] as number);
    const max = maxps(maxps(h0, h2), maxps(h1, h3));
    const d = fround(max / 127);
    ds[b] = table[f32ToF16(d)] as number;
    const id = max !== 0 ? fround(127 / max) : 0;
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const v = fround((x[xi + j] as number) * id);
      // Round half to even (exact for |v| < 2^51; larger binary32 values are integers already).
      const r = Math.abs(v) < 2 ** 51 ? v + 6755399441055744 - 6755399441055744 : v;
      qs[q + j] = r >= -128 && r <= 127 ? r : r > 127 && r < 2147483648 ? 127 : -128;
      sum += qs[q + j] as number;
    }
    // quantize_row_q8_1: s = d · Σq, stored as f16.
    if (sums) sums[b] = table[f32ToF16(fround(d * sum))] as number;
  }
}

/** _mm_max_ps lane semantics: a > b ? a : b. */
function maxps(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: maxps operand order and NaN semantics
  return a > b ? a : b;
}

/**
 * quantize_row_q8_K_ref: per 256, iscale = -127/x at max |x| (first such), quants
 * MIN(127, nearest_int(iscale·x)) as int8, d = 1/iscale, bsums of every 16. An all-zero block
 * gets d = 0 and zero quants (ggml leaves its bsums untouched; they only ever meet d = 0).
 */
function quantizeQ8_K(
  x: Float32Array,
  xOffset: number,
  nb: number,
  qs: Int8Array,
  ds: Float32Array,
  bsums: Int16Array,
): void {
  for (let b = 0, xi = xOffset, q = 0; b < nb; b++, xi += 256, q += 256) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 256; j++) {
      const v = x[xi + j] as number;
      const ax = Math.abs(v);
      if (ax > amax) {
        amax = ax;
        max = v;
      }
    }
    if (amax === 0) {
      ds[b] = 0;
      qs.fill(0, q, q + 256);
      bsums.fill(0, 16 * b, 16 * b + 16);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < 256; j++) {
      const v = nearestInt(fround(iscale * (x[xi + j] as number)));
      qs[q + j] = Math.min(v, 127);
    }
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let i = q + 16 * j, e = i + 16; i < e; i++) sum += qs[i] as number;
      bsums[16 * b + j] = sum;
    }
    ds[b] = fround(1 / iscale);
  }
}

// ---------------------------------------------------------------------------------------------
// vec_dot kernels.

/** Σ w8[w+e]·qs[a+e] for e = 0..3: one lane's share of a block (int8 × int8). */
function dot4(w8: Int8Array, w: number, qs: Int8Array, a: number): number {
  return (
    (w8[w] as number) * (qs[a] as number) +
    (w8[w + 1] as number) * (qs[a + 1] as number) +
    (w8[w + 2] as number) * (qs[a + 2] as number) +
    (w8[w + 3] as number) * (qs[a + 3] as number)
  );
}

/** ggml_vec_dot_q8_0_q8_0, AVX2. Lanes are independent, so each is run over all blocks in turn. */
function dotQ8_0(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const w8 = int8ViewOf(row.buffer);
  const qs = act.qs;
  const ds = act.d;
  const nb = act.n >> 5;
  const scales = scalesFor(nb);
  for (let b = 0, o = rowOffset; b < nb; b++, o += 34) {
    scales[b] = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (ds[b] as number),
    );
  }
  const acc = lanes;
  for (let l = 0; l < 8; l++) {
    let a = 0;
    for (
      let b = 0, w = row.byteOffset + rowOffset + 2 + 4 * l, q = 4 * l;
      b < nb;
      b++, w += 34, q += 32
    ) {
      a = fmaF32(scales[b] as number, dot4(w8, w, qs, q), a);
    }
    acc[l] = a;
  }
  return hsumLanes(acc);
}

/** Σ ((row[w+e] & 15) − 8)·qs[a+e] for e = 0..3: low nibbles. */
function dot4Lo(row: Uint8Array, w: number, qs: Int8Array, a: number): number {
  return (
    (((row[w] as number) & 15) - 8) * (qs[a] as number) +
    (((row[w + 1] as number) & 15) - 8) * (qs[a + 1] as number) +
    (((row[w + 2] as number) & 15) - 8) * (qs[a + 2] as number) +
    (((row[w + 3] as number) & 15) - 8) * (qs[a + 3] as number)
  );
}

/** Σ ((row[w+e] >> 4) − 8)·qs[a+e] for e = 0..3: high nibbles. */
function dot4Hi(row: Uint8Array, w: number, qs: Int8Array, a: number): number {
  return (
    (((row[w] as number) >> 4) - 8) * (qs[a] as number) +
    (((row[w + 1] as number) >> 4) - 8) * (qs[a + 1] as number) +
    (((row[w + 2] as number) >> 4) - 8) * (qs[a + 2] as number) +
    (((row[w + 3] as number) >> 4) - 8) * (qs[a + 3] as number)
  );
}

/** ggml_vec_dot_q4_0_q8_0, AVX2: lanes 0-3 hold the low nibbles, lanes 4-7 the high ones. */
function dotQ4_0(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const nb = act.n >> 5;
  const scales = scalesFor(nb);
  for (let b = 0, o = rowOffset; b < nb; b++, o += 18) {
    scales[b] = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (ds[b] as number),
    );
  }
  const acc = lanes;
  for (let l = 0; l < 4; l++) {
    let a = 0;
    for (let b = 0, w = rowOffset + 2 + 4 * l, q = 4 * l; b < nb; b++, w += 18, q += 32) {
      a = fmaF32(scales[b] as number, dot4Lo(row, w, qs, q), a);
    }
    acc[l] = a;
  }
  for (let l = 0; l < 4; l++) {
    let a = 0;
    for (let b = 0, w = rowOffset + 2 + 4 * l, q = 16 + 4 * l; b < nb; b++, w += 18, q += 32) {
      a = fmaF32(scales[b] as number, dot4Hi(row, w, qs, q), a);
    }
    acc[l + 4] = a;
  }
  return hsumLanes(acc);
}

/**
 * ggml_vec_dot_q5_0_q8_0, AVX2: lane l sums (q − 16)·q8 over elements 4l..4l+3 of each block, then
 * `fma(d, ·)` into its accumulator, block by block.
 */
function dotQ5_0(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const nb = act.n >> 5;
  const scales = scalesFor(nb);
  for (let b = 0, o = rowOffset; b < nb; b++, o += 22) {
    scales[b] = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (act.d[b] as number),
    );
  }
  const acc = lanes;
  for (let l = 0; l < 8; l++) {
    let a = 0;
    for (let b = 0, o = rowOffset; b < nb; b++, o += 22) {
      let sum = 0;
      for (let e = 4 * l; e < 4 * l + 4; e++) {
        sum += (q5_0Quant(row, o, e) - 16) * (qs[32 * b + e] as number);
      }
      a = fmaF32(scales[b] as number, sum, a);
    }
    acc[l] = a;
  }
  return hsumLanes(acc);
}

/**
 * ggml_vec_dot_q{4,5}_1_q8_1, AVX2: lane l sums q·q8 over elements 4l..4l+3 of each block (q
 * unsigned), then `fma(d·d8, ·)` into its accumulator; the minima go to one binary32 sum,
 * `fma(m, s8)` per block, added after the lanes.
 */
function dotQ_1(row: Uint8Array, rowOffset: number, act: PreparedActivations, bits: 4 | 5): number {
  const table = f16Table32();
  const qs = act.qs;
  const nb = act.n >> 5;
  const blockBytes = bits === 4 ? 20 : 24;
  const acc = lanes.fill(0);
  let summs = 0;
  for (let b = 0, o = rowOffset; b < nb; b++, o += blockBytes) {
    const d = table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number;
    const m = table[(row[o + 2] as number) | ((row[o + 3] as number) << 8)] as number;
    summs = fmaF32(m, act.s[b] as number, summs);
    const scale = fround(d * (act.d[b] as number));
    for (let l = 0; l < 8; l++) {
      let sum = 0;
      for (let e = 4 * l; e < 4 * l + 4; e++) {
        sum += quant1(row, o, e, bits) * (qs[32 * b + e] as number);
      }
      acc[l] = fmaF32(scale, sum, acc[l] as number);
    }
  }
  return fround(hsumLanes(acc) + summs);
}

/**
 * ggml_vec_dot_q4_K_q8_K, AVX2: lane l sums sc·q4·q8 over elements 4l..4l+3 of each 32; the mins
 * go to a separate 4-lane accumulator of dmin·(m[2k]·bsum-pair + m[2k+1]·bsum-pair).
 */
function dotQ4_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 144, q += 256) {
    const yd = ds[b] as number;
    const d = fround(yd * (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number));
    const dmin = -fround(
      yd * (table[(row[o + 2] as number) | ((row[o + 3] as number) << 8)] as number),
    );
    // The 6-bit scales and mins (get_scale_min_k4 / the utmp shuffle).
    const s = o + 4;
    const s0 = row[s] as number;
    const s1 = row[s + 1] as number;
    const s2 = row[s + 2] as number;
    const s3 = row[s + 3] as number;
    const s4 = row[s + 4] as number;
    const s5 = row[s + 5] as number;
    const s6 = row[s + 6] as number;
    const s7 = row[s + 7] as number;
    const s8 = row[s + 8] as number;
    const s9 = row[s + 9] as number;
    const s10 = row[s + 10] as number;
    const s11 = row[s + 11] as number;
    const min0 = s4 & 63;
    const min1 = s5 & 63;
    const min2 = s6 & 63;
    const min3 = s7 & 63;
    const min4 = (s8 >> 4) | ((s4 >> 6) << 4);
    const min5 = (s9 >> 4) | ((s5 >> 6) << 4);
    const min6 = (s10 >> 4) | ((s6 >> 6) << 4);
    const min7 = (s11 >> 4) | ((s7 >> 6) << 4);
    // _mm_hadd_epi16 of the bsums: pairs p_k = bsums[2k] + bsums[2k + 1].
    const bs = 16 * b;
    const p0 = (bsums[bs] as number) + (bsums[bs + 1] as number);
    const p1 = (bsums[bs + 2] as number) + (bsums[bs + 3] as number);
    const p2 = (bsums[bs + 4] as number) + (bsums[bs + 5] as number);
    const p3 = (bsums[bs + 6] as number) + (bsums[bs + 7] as number);
    const p4 = (bsums[bs + 8] as number) + (bsums[bs + 9] as number);
    const p5 = (bsums[bs + 10] as number) + (bsums[bs + 11] as number);
    const p6 = (bsums[bs + 12] as number) + (bsums[bs + 13] as number);
    const p7 = (bsums[bs + 14] as number) + (bsums[bs + 15] as number);
    m0 = fmaF32(dmin, min0 * p0 + min1 * p1, m0);
    m1 = fmaF32(dmin, min2 * p2 + min3 * p3, m1);
    m2 = fmaF32(dmin, min4 * p4 + min5 * p5, m2);
    m3 = fmaF32(dmin, min6 * p6 + min7 * p7, m3);
    sumi.fill(0);
    for (let j = 0; j < 4; j++) {
      let scLo: number;
      let scHi: number;
      if (j === 0) {
        scLo = s0 & 63;
        scHi = s1 & 63;
      } else if (j === 1) {
        scLo = s2 & 63;
        scHi = s3 & 63;
      } else if (j === 2) {
        scLo = (s8 & 15) | ((s0 >> 6) << 4);
        scHi = (s9 & 15) | ((s1 >> 6) << 4);
      } else {
        scLo = (s10 & 15) | ((s2 >> 6) << 4);
        scHi = (s11 & 15) | ((s3 >> 6) << 4);
      }
      const w0 = o + 16 + 32 * j;
      const a0 = q + 64 * j;
      for (let l = 0, w = w0, a = a0; l < 8; l++, w += 4, a += 4) {
        const b0 = row[w] as number;
        const b1 = row[w + 1] as number;
        const b2 = row[w + 2] as number;
        const b3 = row[w + 3] as number;
        const lo =
          (b0 & 15) * (qs[a] as number) +
          (b1 & 15) * (qs[a + 1] as number) +
          (b2 & 15) * (qs[a + 2] as number) +
          (b3 & 15) * (qs[a + 3] as number);
        const hi =
          (b0 >> 4) * (qs[a + 32] as number) +
          (b1 >> 4) * (qs[a + 33] as number) +
          (b2 >> 4) * (qs[a + 34] as number) +
          (b3 >> 4) * (qs[a + 35] as number);
        sumi[l] = (sumi[l] as number) + scLo * lo + scHi * hi;
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return fround(hsumLanes(acc) + fround(fround(m0 + m2) + fround(m1 + m3)));
}

/**
 * Σ level·q8 over elements 4l..4l+3 of the 32-element block whose indices start at byte `w` and
 * whose activations start at `a` (element e < 16: low nibble of byte e; else high nibble of e − 16).
 */
function iq4Lane(row: Uint8Array, w: number, q8: Int8Array, a: number, l: number): number {
  let sum = 0;
  for (let e = 4 * l; e < 4 * l + 4; e++) {
    const index = e < 16 ? (row[w + e] as number) & 15 : (row[w + e - 16] as number) >> 4;
    sum += (IQ4_LEVELS[index] as number) * (q8[a + e] as number);
  }
  return sum;
}

const lanesOdd = new Float64Array(8);

/**
 * ggml_vec_dot_iq4_nl_q8_0, AVX2: blocks in pairs, even ones into one 8-lane accumulator and odd
 * ones into another (lane l: elements 4l..4l+3), added lane by lane before the horizontal sum; a
 * last unpaired block is summed whole and added with one FMA.
 */
function dotIQ4_NL(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const even = lanes.fill(0);
  const odd = lanesOdd.fill(0);
  const nb = act.n >> 5;
  const scale = (b: number) =>
    fround(
      (act.d[b] as number) *
        (table[
          (row[rowOffset + 18 * b] as number) | ((row[rowOffset + 18 * b + 1] as number) << 8)
        ] as number),
    );
  let b = 0;
  for (; b + 1 < nb; b += 2) {
    const d0 = scale(b);
    const d1 = scale(b + 1);
    for (let l = 0; l < 8; l++) {
      even[l] = fmaF32(
        d0,
        iq4Lane(row, rowOffset + 18 * b + 2, act.qs, 32 * b, l),
        even[l] as number,
      );
      odd[l] = fmaF32(
        d1,
        iq4Lane(row, rowOffset + 18 * b + 20, act.qs, 32 * b + 32, l),
        odd[l] as number,
      );
    }
  }
  for (let l = 0; l < 8; l++) even[l] = fround((even[l] as number) + (odd[l] as number));
  let sum = hsumLanes(even);
  if (b < nb) {
    let sumi = 0;
    for (let l = 0; l < 8; l++) sumi += iq4Lane(row, rowOffset + 18 * b + 2, act.qs, 32 * b, l);
    sum = fmaF32(scale(b), sumi, sum);
  }
  return sum;
}

/** ggml_vec_dot_iq4_xs_q8_K, AVX2: lane l sums (ls − 32)·level·q8 over elements 4l..4l+3 of each 32. */
function dotIQ4_XS(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 136, q += 256) {
    const d = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (act.d[b] as number),
    );
    sumi.fill(0);
    for (let s = 0; s < 8; s++) {
      const ls = iq4xsScale(row, o, s) - 32;
      for (let l = 0; l < 8; l++) {
        sumi[l] = (sumi[l] as number) + ls * iq4Lane(row, o + 8 + 16 * s, act.qs, q + 32 * s, l);
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return hsumLanes(acc);
}

/**
 * The integer part of ggml_vec_dot_q{2,3}_K_q8_K, AVX2, for one super-block: lane l of `sumi` sums
 * scale·q·q8 over elements 4l..4l+3 of each 32, where element 128h + 32j + e (e < 32) has the
 * 2-bit quant at bits 2j of byte `qs + 32h + e`, minus 4 unless bit 4h + j of byte `hmask + e` is
 * set (Q3_K; `hmask` < 0 for Q2_K), and the scale `scale(8h + 2j + (e ≥ 16))`.
 */
function lowBitSums(
  row: Uint8Array,
  qs: number,
  hmask: number,
  scale: Int32Array,
  q8: Int8Array,
  q: number,
  sumi: Int32Array,
): void {
  sumi.fill(0);
  for (let h = 0; h < 2; h++) {
    for (let j = 0; j < 4; j++) {
      const bit = 4 * h + j;
      const a0 = q + 128 * h + 32 * j;
      for (let l = 0; l < 8; l++) {
        let partial = 0;
        for (let e = 4 * l; e < 4 * l + 4; e++) {
          let v = ((row[qs + 32 * h + e] as number) >> (2 * j)) & 3;
          if (hmask >= 0 && (((row[hmask + e] as number) >> bit) & 1) === 0) v -= 4;
          partial += v * (q8[a0 + e] as number);
        }
        sumi[l] = (sumi[l] as number) + (scale[8 * h + 2 * j + (l >> 2)] as number) * partial;
      }
    }
  }
}

const subScales = new Int32Array(16);

/**
 * ggml_vec_dot_q2_K_q8_K, AVX2: per block, each lane first takes `fma(dmin, m·bsum pairs)` (lane l:
 * sub-blocks 2l and 2l + 1), then `fma(d, Σ sc·q2·q8)`.
 */
function dotQ2_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 84, q += 256) {
    const yd = act.d[b] as number;
    const d = fround(
      yd * (table[(row[o + 80] as number) | ((row[o + 81] as number) << 8)] as number),
    );
    const dmin = -fround(
      yd * (table[(row[o + 82] as number) | ((row[o + 83] as number) << 8)] as number),
    );
    const bs = 16 * b;
    for (let l = 0; l < 8; l++) {
      const prod =
        ((row[o + 2 * l] as number) >> 4) * (bsums[bs + 2 * l] as number) +
        ((row[o + 2 * l + 1] as number) >> 4) * (bsums[bs + 2 * l + 1] as number);
      acc[l] = fmaF32(dmin, prod, acc[l] as number);
    }
    for (let j = 0; j < 16; j++) subScales[j] = (row[o + j] as number) & 15;
    lowBitSums(row, o + 16, -1, subScales, act.qs, q, sumi);
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return hsumLanes(acc);
}

/** ggml_vec_dot_q3_K_q8_K, AVX2: per block, each lane takes `fma(d, Σ (sc − 32)·q3·q8)`. */
function dotQ3_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 110, q += 256) {
    const yd = act.d[b] as number;
    const d = fround(
      yd * (table[(row[o + 108] as number) | ((row[o + 109] as number) << 8)] as number),
    );
    for (let j = 0; j < 16; j++) subScales[j] = q3Scale(row, o + 96, j) - 32;
    lowBitSums(row, o + 32, o, subScales, act.qs, q, sumi);
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return hsumLanes(acc);
}

/**
 * ggml_vec_dot_q5_K_q8_K, AVX2: lane l sums sc·q5·q8 over elements 4l..4l+3 of each 32 (q5 the
 * nibble plus 16 for its `qh` bit); the mins go to one binary32 sum, `fma(dmin, Σ m·bsum-pair)`
 * per block, added after the lanes.
 */
function dotQ5_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  let summs = 0;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 176, q += 256) {
    const yd = ds[b] as number;
    const d = fround(yd * (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number));
    const dmin = -fround(
      yd * (table[(row[o + 2] as number) | ((row[o + 3] as number) << 8)] as number),
    );
    const bs = 16 * b;
    let minSum = 0;
    for (let k = 0; k < 8; k++) {
      const pair = (bsums[bs + 2 * k] as number) + (bsums[bs + 2 * k + 1] as number);
      minSum += (scaleMin(row, o + 4, k) >> 8) * pair;
    }
    summs = fmaF32(dmin, minSum, summs);
    sumi.fill(0);
    for (let j = 0; j < 4; j++) {
      const scLo = scaleMin(row, o + 4, 2 * j) & 0xff;
      const scHi = scaleMin(row, o + 4, 2 * j + 1) & 0xff;
      const w0 = o + 48 + 32 * j;
      const a0 = q + 64 * j;
      for (let l = 0; l < 8; l++) {
        let lo = 0;
        let hi = 0;
        for (let e = 4 * l; e < 4 * l + 4; e++) {
          const nibbles = row[w0 + e] as number;
          const high = (row[o + 16 + e] as number) >> (2 * j);
          lo += ((nibbles & 15) | ((high & 1) << 4)) * (qs[a0 + e] as number);
          hi += ((nibbles >> 4) | ((high & 2) << 3)) * (qs[a0 + 32 + e] as number);
        }
        sumi[l] = (sumi[l] as number) + scLo * lo + scHi * hi;
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return fround(hsumLanes(acc) + summs);
}

/**
 * ggml_vec_dot_q6_K_q8_K, AVX2: lane l sums scale·q6·q8 (q6 unsigned 0..63) over elements
 * 4l..4l+3 of each 32, minus 32·(bsums[2l]·sc[2l] + bsums[2l+1]·sc[2l+1]); converted to binary32
 * (rounding above 2^24) before the FMA.
 */
function dotQ6_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 210, q += 256) {
    const d = fround(
      (ds[b] as number) *
        (table[(row[o + 208] as number) | ((row[o + 209] as number) << 8)] as number),
    );
    const sc = o + 192;
    const bs = 16 * b;
    for (let l = 0; l < 8; l++) {
      sumi[l] =
        -32 *
        ((bsums[bs + 2 * l] as number) * (((row[sc + 2 * l] as number) << 24) >> 24) +
          (bsums[bs + 2 * l + 1] as number) * (((row[sc + 2 * l + 1] as number) << 24) >> 24));
    }
    for (let half = 0; half < 2; half++) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const qa = q + 128 * half;
      for (let l = 0; l < 8; l++) {
        // Sub-block of 16: chunk c = 4·half + k, lanes 0-3 take scale 2c, lanes 4-7 scale 2c + 1.
        const scl = sc + 8 * half + (l >> 2);
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let e = 4 * l, end = e + 4; e < end; e++) {
          const lo = row[ql + e] as number;
          const hi = row[ql + e + 32] as number;
          const h = row[qh + e] as number;
          s0 += ((lo & 15) | ((h & 3) << 4)) * (qs[qa + e] as number);
          s1 += ((hi & 15) | (((h >> 2) & 3) << 4)) * (qs[qa + e + 32] as number);
          s2 += ((lo >> 4) | (((h >> 4) & 3) << 4)) * (qs[qa + e + 64] as number);
          s3 += ((hi >> 4) | (((h >> 6) & 3) << 4)) * (qs[qa + e + 96] as number);
        }
        sumi[l] =
          (sumi[l] as number) +
          (((row[scl] as number) << 24) >> 24) * s0 +
          (((row[scl + 2] as number) << 24) >> 24) * s1 +
          (((row[scl + 4] as number) << 24) >> 24) * s2 +
          (((row[scl + 6] as number) << 24) >> 24) * s3;
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, fround(sumi[l] as number), acc[l] as number);
  }
  return hsumLanes(acc);
}

/**
 * The GGML_F32x8_REDUCE of 4 accumulators × 8 lanes (acc[8j + l]):
 * x = (acc0 + acc2) + (acc1 + acc3) lane-wise, t_k = x_k + x_{k+4}, then
 * (t0 + t1) + (t2 + t3) by two hadds.
 */
function reduceHadd(acc: Float64Array): number {
  const x = lanes;
  for (let l = 0; l < 8; l++) {
    x[l] = fround(
      fround((acc[l] as number) + (acc[l + 16] as number)) +
        fround((acc[l + 8] as number) + (acc[l + 24] as number)),
    );
  }
  const t0 = fround((x[0] as number) + (x[4] as number));
  const t1 = fround((x[1] as number) + (x[5] as number));
  const t2 = fround((x[2] as number) + (x[6] as number));
  const t3 = fround((x[3] as number) + (x[7] as number));
  return fround(fround(t0 + t1) + fround(t2 + t3));
}

/**
 * ggml_vec_dot_f16 (GGML_SIMD, AVX + F16C + FMA): 32-element steps into 4 × 8 binary32 lanes by
 * FMA (exact products, so one rounding of the sum), the hadd reduction, then the leftovers summed
 * in double.
 */
function dotF16(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const v = act.values;
  const n = act.n;
  const np = n & ~31;
  // Lanes are independent: run each through all 32-element steps in turn.
  const acc = lanes32;
  for (let k = 0; k < 32; k++) {
    let a = 0;
    for (let i = k, o = rowOffset + 2 * k; i < np; i += 32, o += 64) {
      const w = table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number;
      a = fround(a + w * (v[i] as number));
    }
    acc[k] = a;
  }
  let sum = reduceHadd(acc);
  for (let i = np, o = rowOffset + 2 * np; i < n; i++, o += 2) {
    sum += (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (v[i] as number);
  }
  return fround(sum);
}

/**
 * ggml_vec_dot_bf16 (AVX2 branch): 32-element steps into 4 × 8 binary32 lanes by
 * `add(mul(x, y), c)`, which gcc contracts to an FMA; the reduction
 * (c0 + c2) + (c1 + c3), then ((g0 + g4) + (g2 + g6)) + ((g1 + g5) + (g3 + g7)); leftovers
 * (binary32 products) summed in double.
 */
function dotBf16(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = bf16Table32();
  const v = act.values;
  const n = act.n;
  const np = n & ~31;
  const acc = lanes32;
  for (let k = 0; k < 32; k++) {
    let a = 0;
    for (let i = k, o = rowOffset + 2 * k; i < np; i += 32, o += 64) {
      const w = table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number;
      a = fmaF32(w, v[i] as number, a);
    }
    acc[k] = a;
  }
  const g = lanes;
  for (let l = 0; l < 8; l++) {
    g[l] = fround(
      fround((acc[l] as number) + (acc[l + 16] as number)) +
        fround((acc[l + 8] as number) + (acc[l + 24] as number)),
    );
  }
  let sum = 0 + hsumLanes(g);
  for (let i = np, o = rowOffset + 2 * np; i < n; i++, o += 2) {
    sum += fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (v[i] as number),
    );
  }
  return fround(sum);
}

/**
 * ggml_vec_dot_f32 (GGML_SIMD, AVX + FMA): 32-element steps into 4 × 8 lanes by FMA, the hadd
 * reduction, then the leftovers into the binary32 sum as gcc -O3 compiles `sumf += x[i]*y[i]`:
 * groups of 8 and then 4 multiplied first and added in order, the last 0-3 by scalar FMA.
 */
function dotF32(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const v = act.values;
  const n = act.n;
  const np = n & ~31;
  const acc = lanes32.fill(0);
  const start = row.byteOffset + rowOffset;
  // base ≥ 0: the row is 4-byte aligned and read through a Float32Array view of its buffer.
  const base = (start & 3) === 0 ? start >>> 2 : -1;
  const f32 = base >= 0 ? f32ViewOf(row.buffer) : f32View;
  for (let i = 0; i < np; i += 32) {
    for (let k = 0; k < 32; k++) {
      const w = base >= 0 ? (f32[base + i + k] as number) : loadF32(row, rowOffset + 4 * (i + k));
      acc[k] = fmaF32(w, v[i + k] as number, acc[k] as number);
    }
  }
  let sum = reduceHadd(acc);
  let i = np;
  const rem = n - np;
  const grouped = (rem >= 8 ? rem & ~7 : 0) + ((rem >= 8 ? rem & 7 : rem) >= 4 ? 4 : 0);
  for (const end = np + grouped; i < end; i++) {
    const w = base >= 0 ? (f32[base + i] as number) : loadF32(row, rowOffset + 4 * i);
    sum = fround(sum + fround(w * (v[i] as number)));
  }
  for (; i < n; i++) {
    const w = base >= 0 ? (f32[base + i] as number) : loadF32(row, rowOffset + 4 * i);
    sum = fmaF32(w, v[i] as number, sum);
  }
  return sum;
}

/** The little-endian binary32 at byte `o` of `b` (any alignment). */
function loadF32(b: Uint8Array, o: number): number {
  scratchU32[0] =
    (b[o] as number) |
    ((b[o + 1] as number) << 8) |
    ((b[o + 2] as number) << 16) |
    ((b[o + 3] as number) << 24);
  return scratchF32[0] as number;
}
