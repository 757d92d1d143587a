/**
 * Q8_0: blocks of 32 elements in 34 bytes — f16 scale `d` at byte 0, then 32 int8 quants `qs`.
 * Element j is `qs[j] * d`. Ports ggml's quantize_row_q8_0_ref and dequantize_row_q8_0.
 */

import { putU16, roundf, truncToInt32 } from './common.js';
import { f16Table32, f32ToF16 } from './half.js';

const QK = 32;
const BLOCK_BYTES = 34;
const { fround } = Math;

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ8_0(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += BLOCK_BYTES, y += QK) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    for (let j = 0; j < QK; j++) {
      // int8 × binary32 is exact in a double; the store rounds once, as the C product does.
      dst[y + j] = (((src[o + 2 + j] as number) << 24) >> 24) * d;
    }
  }
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotQ8_0(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  const table = f16Table32();
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < nb; b++, o += BLOCK_BYTES, xi += QK) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    let s = 0;
    const q = o + 2;
    for (let j = 0; j < QK; j++) {
      s += (((src[q + j] as number) << 24) >> 24) * (x[xi + j] as number);
    }
    sum += d * s;
  }
  return sum;
}

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ8_0(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xi = srcOffset, o = dstOffset; b < nb; b++, xi += QK, o += BLOCK_BYTES) {
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const a = Math.abs(src[xi + j] as number);
      // MAX(amax, fabsf(v)) exactly, NaN handling included (Math.max would keep a NaN).
      // biome-ignore lint/complexity/useMathMinMax: C's MAX macro semantics
      amax = amax > a ? amax : a;
    }
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o, f32ToF16(d));
    for (let j = 0; j < QK; j++) {
      const x0 = fround((src[xi + j] as number) * id);
      dst[o + 2 + j] = truncToInt32(roundf(x0)) & 0xff;
    }
  }
}
