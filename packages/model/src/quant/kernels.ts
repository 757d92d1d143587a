/**
 * Row kernels for GGML tensor types, bit-for-bit equal to ggml (ggml/src/ggml-quants.c):
 * dequantize a stored row, dot a stored row with an f32 vector, and quantize f32 values with the
 * `quantize_row_*_ref` reference quantizers. Block layouts (little-endian):
 *
 * - F32: 4 bytes per element; F16: 2 bytes (IEEE binary16); BF16: 2 bytes (upper half of f32).
 * - Q8_0: 32 elements in 34 bytes — f16 d, int8 qs[32]; x = qs[j]·d.
 * - Q4_0: 32 elements in 18 bytes — f16 d, qs[16] (low nibble j, high nibble j+16); x = (q-8)·d.
 * - Q5_0: 32 elements in 22 bytes — f16 d, qh (fifth bits), qs[16]; x = (q−16)·d.
 * - Q4_1 / Q5_1: 32 elements in 20 / 24 bytes — f16 d, f16 m, (qh,) qs[16]; x = q·d + m.
 * - IQ4_NL: 32 elements in 18 bytes — f16 d, 4-bit indices[16] into 16 non-linear levels;
 *   IQ4_XS: 256 elements in 136 bytes — f16 d, 6-bit sub-block scales, the same indices.
 * - Q2_K: 256 elements in 84 bytes — 4-bit scale/min pairs[16], 2-bit qs[64], f16 d, f16 dmin;
 *   x = d·sc·q − dmin·m per sub-block of 16.
 * - Q3_K: 256 elements in 110 bytes — hmask[32], 2-bit qs[64], 6-bit scales[12], f16 d;
 *   x = d·(sc−32)·(q − 4·!high) per sub-block of 16.
 * - Q4_K: 256 elements in 144 bytes — f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, qs[128];
 *   x = d·sc·q − dmin·m per sub-block of 32.
 * - Q5_K: 256 elements in 176 bytes — as Q4_K, with qh[32] of high bits before qs[128];
 *   x = d·sc·q − dmin·m with q in 0..31.
 * - Q6_K: 256 elements in 210 bytes — ql[128], qh[64], int8 scales[16], f16 d;
 *   x = d·scale·(q−32) per sub-block of 16.
 */

import { ModelArgumentError } from '../errors.js';
import {
  GgmlType,
  type GgmlTypeTraits,
  ggmlTypeTraits,
  UnsupportedTensorTypeError,
} from '../ggml-type.js';
import {
  dequantizeBf16,
  dequantizeF16,
  dequantizeF32,
  dotBf16,
  dotF16,
  dotF32,
  quantizeBf16,
  quantizeF16,
  quantizeF32,
} from './float.js';
import {
  dequantizeIQ4_NL,
  dequantizeIQ4_XS,
  dotIQ4_NL,
  dotIQ4_XS,
  quantizeIQ4_NL,
  quantizeIQ4_XS,
} from './iq4.js';
import {
  dequantizeQ4_1,
  dequantizeQ5_1,
  dotQ4_1,
  dotQ5_1,
  quantizeQ4_1,
  quantizeQ5_1,
} from './q_1.js';
import { dequantizeQ2_K, dotQ2_K, quantizeQ2_K } from './q2_k.js';
import { dequantizeQ3_K, dotQ3_K, quantizeQ3_K } from './q3_k.js';
import { dequantizeQ4_0, dotQ4_0, quantizeQ4_0 } from './q4_0.js';
import { dequantizeQ4_K, dotQ4_K, quantizeQ4_K } from './q4_k.js';
import { dequantizeQ5_0, dotQ5_0, quantizeQ5_0 } from './q5_0.js';
import { dequantizeQ5_K, dotQ5_K, quantizeQ5_K } from './q5_k.js';
import { dequantizeQ6_K, dotQ6_K, quantizeQ6_K } from './q6_k.js';
import { dequantizeQ8_0, dotQ8_0, quantizeQ8_0 } from './q8_0.js';

/**
 * The traits of `type` after checking that n elements are whole blocks and that the row's bytes
 * from `byteOffset` and its n elements from `elemOffset` are in range.
 */
function checkRow(
  type: number,
  n: number,
  byteLength: number,
  byteOffset: number,
  elemLength: number,
  elemOffset: number,
): GgmlTypeTraits {
  const traits = ggmlTypeTraits(type);
  const { name, blockSize, typeSize } = traits;
  if (!Number.isSafeInteger(n) || n < 0 || n % blockSize !== 0) {
    throw new ModelArgumentError(
      `${name} stores blocks of ${blockSize} elements; ${String(n)} elements ` +
        'are not a whole number of blocks',
      'MODEL_BAD_ROW',
    );
  }
  const bytes = (n / blockSize) * typeSize;
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset + bytes > byteLength) {
    throw new ModelArgumentError(
      `${name} row of ${n} elements needs ${bytes} bytes at offset ${byteOffset}; ` +
        `the buffer holds ${byteLength}`,
      'MODEL_BAD_ROW',
    );
  }
  if (!Number.isSafeInteger(elemOffset) || elemOffset < 0 || elemOffset + n > elemLength) {
    throw new ModelArgumentError(
      `${name} row of ${n} elements at element offset ${elemOffset} overruns an array of ` +
        `${elemLength}`,
      'MODEL_BAD_ROW',
    );
  }
  return traits;
}

/**
 * Decodes n elements (a whole number of blocks) of `type` stored in `src` from byte `srcOffset`
 * (any alignment) into dst[dstOffset..dstOffset+n), bit for bit as ggml's dequantize_row_* and
 * fp16/bf16 conversions.
 * @throws UnsupportedTensorTypeError for a type id without a kernel
 * @throws RangeError when n is not whole blocks or a range overruns its array
 */
export function dequantizeRow(
  type: number,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  n: number,
): void {
  const { blockSize } = checkRow(type, n, src.length, srcOffset, dst.length, dstOffset);
  const nb = n / blockSize;
  switch (type) {
    case GgmlType.F32:
      dequantizeF32(src, srcOffset, dst, dstOffset, n);
      return;
    case GgmlType.F16:
      dequantizeF16(src, srcOffset, dst, dstOffset, n);
      return;
    case GgmlType.BF16:
      dequantizeBf16(src, srcOffset, dst, dstOffset, n);
      return;
    case GgmlType.Q8_0:
      dequantizeQ8_0(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q4_0:
      dequantizeQ4_0(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.IQ4_NL:
      dequantizeIQ4_NL(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.IQ4_XS:
      dequantizeIQ4_XS(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q4_1:
      dequantizeQ4_1(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q5_0:
      dequantizeQ5_0(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q5_1:
      dequantizeQ5_1(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q2_K:
      dequantizeQ2_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q3_K:
      dequantizeQ3_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q4_K:
      dequantizeQ4_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q5_K:
      dequantizeQ5_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q6_K:
      dequantizeQ6_K(src, srcOffset, dst, dstOffset, nb);
      return;
  }
  unreachable(type);
}

/**
 * Dot product of the n stored elements of `type` at byte `srcOffset` of `src` with
 * x[xOffset..xOffset+n), decoding inside the loop with no allocation. Equals the dot of
 * {@link dequantizeRow}'s output with x up to float rounding (sums are kept in f64; per-block
 * scales are applied once per block or sub-block).
 * @throws UnsupportedTensorTypeError for a type id without a kernel
 * @throws RangeError when n is not whole blocks or a range overruns its array
 */
export function dotRow(
  type: number,
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  n: number,
): number {
  const { blockSize } = checkRow(type, n, src.length, srcOffset, x.length, xOffset);
  const nb = n / blockSize;
  switch (type) {
    case GgmlType.F32:
      return dotF32(src, srcOffset, x, xOffset, n);
    case GgmlType.F16:
      return dotF16(src, srcOffset, x, xOffset, n);
    case GgmlType.BF16:
      return dotBf16(src, srcOffset, x, xOffset, n);
    case GgmlType.Q8_0:
      return dotQ8_0(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q4_0:
      return dotQ4_0(src, srcOffset, x, xOffset, nb);
    case GgmlType.IQ4_NL:
      return dotIQ4_NL(src, srcOffset, x, xOffset, nb);
    case GgmlType.IQ4_XS:
      return dotIQ4_XS(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q4_1:
      return dotQ4_1(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q5_0:
      return dotQ5_0(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q5_1:
      return dotQ5_1(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q2_K:
      return dotQ2_K(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q3_K:
      return dotQ3_K(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q4_K:
      return dotQ4_K(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q5_K:
      return dotQ5_K(src, srcOffset, x, xOffset, nb);
    case GgmlType.Q6_K:
      return dotQ6_K(src, srcOffset, x, xOffset, nb);
  }
  return unreachable(type);
}

/**
 * Encodes src[srcOffset..srcOffset+n) (a whole number of blocks) as `type` into `dst` from byte
 * `dstOffset`, bit for bit as ggml's quantize_row_*_ref (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K … Q6_K, IQ4_NL, IQ4_XS),
 * ggml_compute_fp32_to_fp16 (F16, round to nearest even) and ggml_compute_fp32_to_bf16 (BF16,
 * round to nearest even, NaN made quiet). F32 copies the bits.
 * @throws UnsupportedTensorTypeError for a type id without a kernel
 * @throws RangeError when n is not whole blocks or a range overruns its array
 */
export function quantizeRow(
  type: number,
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  n: number,
): void {
  const { blockSize } = checkRow(type, n, dst.length, dstOffset, src.length, srcOffset);
  const nb = n / blockSize;
  switch (type) {
    case GgmlType.F32:
      quantizeF32(src, srcOffset, dst, dstOffset, n);
      return;
    case GgmlType.F16:
      quantizeF16(src, srcOffset, dst, dstOffset, n);
      return;
    case GgmlType.BF16:
      quantizeBf16(src, srcOffset, dst, dstOffset, n);
      return;
    case GgmlType.Q8_0:
      quantizeQ8_0(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q4_0:
      quantizeQ4_0(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.IQ4_NL:
      quantizeIQ4_NL(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.IQ4_XS:
      quantizeIQ4_XS(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q4_1:
      quantizeQ4_1(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q5_0:
      quantizeQ5_0(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q5_1:
      quantizeQ5_1(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q2_K:
      quantizeQ2_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q3_K:
      quantizeQ3_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q4_K:
      quantizeQ4_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q5_K:
      quantizeQ5_K(src, srcOffset, dst, dstOffset, nb);
      return;
    case GgmlType.Q6_K:
      quantizeQ6_K(src, srcOffset, dst, dstOffset, nb);
      return;
  }
  unreachable(type);
}

/**
 * Quantizes all of `values` as `type` into a new buffer of `values.length / blockSize` blocks.
 * @throws RangeError naming the type and its block size when values is not whole blocks
 * @throws UnsupportedTensorTypeError for a type id without a kernel
 */
export function quantize(type: number, values: Float32Array): Uint8Array {
  const { name, blockSize, typeSize } = ggmlTypeTraits(type);
  if (values.length % blockSize !== 0) {
    throw new ModelArgumentError(
      `${name} quantizes blocks of ${blockSize} values; ${values.length} values ` +
        'are not a whole number of blocks',
      'MODEL_BAD_ROW',
    );
  }
  const out = new Uint8Array((values.length / blockSize) * typeSize);
  quantizeRow(type, values, 0, out, 0, values.length);
  return out;
}

// A type ggmlTypeTraits knows but no kernel here handles.
function unreachable(type: number): never {
  throw new UnsupportedTensorTypeError(
    `GGML type ${ggmlTypeTraits(type).name} (${type}) has no quantization kernel`,
  );
}
