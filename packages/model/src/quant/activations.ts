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

import { ModelArgumentError } from '../errors.js';
import { GgmlType, ggmlTypeTraits, UnsupportedTensorTypeError } from '../ggml-type.js';
import { f16Table32, f32ToBf16, f32ToF16 } from './half.js';
import {
  GGML_TYPE_Q8_1,
  GGML_TYPE_Q8_K,
  type PreparedActivations,
} from './prepared-activations.js';

export {
  GGML_TYPE_Q8_1,
  GGML_TYPE_Q8_K,
  type PreparedActivations,
} from './prepared-activations.js';

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
    throw new ModelArgumentError(
      `maxN must be a non-negative integer, not ${String(maxN)}`,
      'MODEL_BAD_ROW',
    );
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
    throw new ModelArgumentError(
      `${name} weights take rows of whole ${blockSize}-element blocks; ${String(n)} is not`,
      'MODEL_BAD_ROW',
    );
  }
  if (n > out.maxN) {
    throw new ModelArgumentError(
      `${n} activations exceed the prepared capacity of ${out.maxN}`,
      'MODEL_BAD_ROW',
    );
  }
  if (!Number.isSafeInteger(xOffset) || xOffset < 0 || xOffset + n > x.length) {
    throw new ModelArgumentError(
      `${n} activations at offset ${String(xOffset)} overrun an array of ${x.length}`,
      'MODEL_BAD_ROW',
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
    throw new ModelArgumentError(
      `activations prepared as type ${act.vecDotType} cannot be dotted with weights whose ` +
        `vec_dot_type is ${type}`,
      'MODEL_BAD_ROW',
    );
  }
  if (!(rowOffset >= 0 && rowOffset + bytes <= row.length) || !Number.isInteger(rowOffset)) {
    throw new ModelArgumentError(
      `a weight row of ${bytes} bytes at offset ${String(rowOffset)} overruns ${row.length} bytes`,
      'MODEL_BAD_ROW',
    );
  }
}

import { bf16Table32, scalesFor } from './ggml-f32.js';
import { quantizeQ8_0Avx2, quantizeQ8_K } from './ggml-from-float.js';
import { dotBf16, dotF16, dotF32 } from './ggml-vec-dot-f.js';
import {
  dotIQ4_NL,
  dotIQ4_XS,
  dotQ2_K,
  dotQ3_K,
  dotQ4_K,
  dotQ5_K,
  dotQ6_K,
} from './ggml-vec-dot-k.js';
import { dotQ_1, dotQ4_0, dotQ5_0, dotQ8_0 } from './ggml-vec-dot-q.js';
