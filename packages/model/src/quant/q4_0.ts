/**
 * Q4_0: blocks of 32 elements in 18 bytes — f16 scale `d` at byte 0, then 16 bytes `qs`. Byte j
 * holds element j in its low nibble and element j + 16 in its high nibble; element value is
 * `(nibble - 8) * d`. Ports ggml's quantize_row_q4_0_ref and dequantize_row_q4_0.
 */

import { putU16, truncToInt32 } from './common.js';
import { f16Table32, f32ToF16 } from './half.js';

const QK = 32;
const BLOCK_BYTES = 18;
const { fround } = Math;

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ4_0(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += BLOCK_BYTES, y += QK) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j] as number;
      dst[y + j] = ((q & 0x0f) - 8) * d;
      dst[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotQ4_0(
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
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j] as number;
      s += ((q & 0x0f) - 8) * (x[xi + j] as number) + ((q >> 4) - 8) * (x[xi + j + 16] as number);
    }
    sum += d * s;
  }
  return sum;
}

/** `(int8_t)v` for a float v, then `MIN(top, ·)` stored to uint8_t, as quantize_row_q{4,5}_0_ref. */
function level(v: number, top: number): number {
  const i8 = (truncToInt32(v) << 24) >> 24;
  return Math.min(top, i8) & 0xff;
}

/**
 * quantize_row_q4_0_ref and quantize_row_q5_0_ref: symmetric blocks of 32 with `d = max / −2^(bits−1)`.
 * Q4_0 blocks are d and 16 bytes of nibbles; Q5_0 blocks put the fifth bits (4 bytes, bit j for
 * element j) between them.
 */
export function quantizeSymmetric(
  bits: 4 | 5,
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  const half = 1 << (bits - 1);
  const top = (1 << bits) - 1;
  const blockBytes = bits === 4 ? BLOCK_BYTES : BLOCK_BYTES + 4;
  const qs = bits === 4 ? 2 : 6;
  for (let b = 0, xi = srcOffset, o = dstOffset; b < nb; b++, xi += QK, o += blockBytes) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[xi + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -half);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o, f32ToF16(d));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const xi0 = level(fround(fround((src[xi + j] as number) * id) + (half + 0.5)), top);
      const xi1 = level(fround(fround((src[xi + 16 + j] as number) * id) + (half + 0.5)), top);
      dst[o + qs + j] = ((xi0 & 15) | ((xi1 & 15) << 4)) & 0xff;
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    if (bits === 5) {
      dst[o + 2] = qh & 0xff;
      dst[o + 3] = (qh >>> 8) & 0xff;
      dst[o + 4] = (qh >>> 16) & 0xff;
      dst[o + 5] = (qh >>> 24) & 0xff;
    }
  }
}

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ4_0(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  quantizeSymmetric(4, src, srcOffset, dst, dstOffset, nb);
}
