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

/** `(int8_t)v` for a float v, then `MIN(15, ·)` stored to uint8_t, as quantize_row_q4_0_ref. */
function nibble(v: number): number {
  const i8 = (truncToInt32(v) << 24) >> 24;
  return Math.min(15, i8) & 0xff;
}

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ4_0(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xi = srcOffset, o = dstOffset; b < nb; b++, xi += QK, o += BLOCK_BYTES) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[xi + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o, f32ToF16(d));
    for (let j = 0; j < 16; j++) {
      const x0 = fround((src[xi + j] as number) * id);
      const x1 = fround((src[xi + 16 + j] as number) * id);
      const xi0 = nibble(fround(x0 + 8.5));
      const xi1 = nibble(fround(x1 + 8.5));
      dst[o + 2 + j] = (xi0 | (xi1 << 4)) & 0xff;
    }
  }
}
