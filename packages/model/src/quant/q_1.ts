/**
 * Q4_1 and Q5_1: blocks of 32 elements with a scale and a minimum, element value `q·d + m`.
 * Q4_1: 20 bytes — f16 `d` at byte 0, f16 `m` at 2, 16 bytes `qs` at 4 (byte j: element j in the
 * low nibble, element j + 16 in the high one). Q5_1: 24 bytes — `d`, `m`, 4 bytes `qh` at 4 (bit
 * j: the fifth bit of element j), `qs` at 8. Ports ggml's quantize_row_q{4,5}_1_ref and
 * dequantize_row_q{4,5}_1.
 */

import { fifthBit, nibbleAt, putU16, truncToInt32 } from './common.js';
import { f16Table32, f32ToF16 } from './half.js';

const QK = 32;
const { fround } = Math;

/** Where a `_1` type keeps its quants: 4 bits, or 5 with the high bits in `qh`. */
interface Layout {
  bits: 4 | 5;
  blockBytes: number;
  qs: number;
}
const Q4_1: Layout = { bits: 4, blockBytes: 20, qs: 4 };
const Q5_1: Layout = { bits: 5, blockBytes: 24, qs: 8 };

/** The quant (0..15 or 0..31) of element e of the block at byte o. */
export function quant1(src: Uint8Array, o: number, e: number, bits: 4 | 5): number {
  return bits === 4
    ? nibbleAt(src, o + 4, e)
    : nibbleAt(src, o + 8, e) | (fifthBit(src, o + 4, e) << 4);
}

function dequantize(
  layout: Layout,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += layout.blockBytes, y += QK) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    const m = table[(src[o + 2] as number) | ((src[o + 3] as number) << 8)] as number;
    for (let e = 0; e < QK; e++) dst[y + e] = fround(quant1(src, o, e, layout.bits) * d) + m;
  }
}

function dot(
  layout: Layout,
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  const table = f16Table32();
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < nb; b++, o += layout.blockBytes, xi += QK) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    const m = table[(src[o + 2] as number) | ((src[o + 3] as number) << 8)] as number;
    let sq = 0;
    let sx = 0;
    for (let e = 0; e < QK; e++) {
      const v = x[xi + e] as number;
      sq += quant1(src, o, e, layout.bits) * v;
      sx += v;
    }
    sum += d * sq + m * sx;
  }
  return sum;
}

function quantize(
  layout: Layout,
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  const top = (1 << layout.bits) - 1;
  for (let b = 0, xi = srcOffset, o = dstOffset; b < nb; b++, xi += QK, o += layout.blockBytes) {
    // FLT_MAX and -FLT_MAX, as ggml starts them.
    let min = 3.4028234663852886e38;
    let max = -3.4028234663852886e38;
    for (let j = 0; j < QK; j++) {
      const v = src[xi + j] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / top);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o, f32ToF16(d));
    putU16(dst, o + 2, f32ToF16(min));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fround(fround((src[xi + j] as number) - min) * id);
      const x1 = fround(fround((src[xi + 16 + j] as number) - min) * id);
      // `MIN(top, (int8_t)(x + 0.5f))` stored to uint8_t.
      const xi0 = Math.min(top, (truncToInt32(fround(x0 + 0.5)) << 24) >> 24) & 0xff;
      const xi1 = Math.min(top, (truncToInt32(fround(x1 + 0.5)) << 24) >> 24) & 0xff;
      dst[o + layout.qs + j] = ((xi0 & 15) | ((xi1 & 15) << 4)) & 0xff;
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    if (layout.bits === 5) {
      dst[o + 4] = qh & 0xff;
      dst[o + 5] = (qh >>> 8) & 0xff;
      dst[o + 6] = (qh >>> 16) & 0xff;
      dst[o + 7] = (qh >>> 24) & 0xff;
    }
  }
}

/** Decodes nb Q4_1 blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export const dequantizeQ4_1 = (
  s: Uint8Array,
  so: number,
  d: Float32Array,
  dof: number,
  nb: number,
) => dequantize(Q4_1, s, so, d, dof, nb);
/** Decodes nb Q5_1 blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export const dequantizeQ5_1 = (
  s: Uint8Array,
  so: number,
  d: Float32Array,
  dof: number,
  nb: number,
) => dequantize(Q5_1, s, so, d, dof, nb);
/** Dot of nb Q4_1 blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export const dotQ4_1 = (s: Uint8Array, so: number, x: Float32Array, xo: number, nb: number) =>
  dot(Q4_1, s, so, x, xo, nb);
/** Dot of nb Q5_1 blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export const dotQ5_1 = (s: Uint8Array, so: number, x: Float32Array, xo: number, nb: number) =>
  dot(Q5_1, s, so, x, xo, nb);
/** Encodes nb Q4_1 blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export const quantizeQ4_1 = (s: Float32Array, so: number, d: Uint8Array, dof: number, nb: number) =>
  quantize(Q4_1, s, so, d, dof, nb);
/** Encodes nb Q5_1 blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export const quantizeQ5_1 = (s: Float32Array, so: number, d: Uint8Array, dof: number, nb: number) =>
  quantize(Q5_1, s, so, d, dof, nb);
