/**
 * Q5_0: blocks of 32 elements in 22 bytes — f16 scale `d` at byte 0, 4 bytes `qh` (bit j: the
 * fifth bit of element j) at 2, then 16 bytes `qs` at 6: byte j holds the low 4 bits of element j
 * in its low nibble and of element j + 16 in its high nibble. Element value `(q − 16)·d`. Ports
 * ggml's quantize_row_q5_0_ref and dequantize_row_q5_0.
 */

import { fifthBit, nibbleAt } from './common.js';
import { f16Table32 } from './half.js';
import { quantizeSymmetric } from './q4_0.js';

const QK = 32;
const BLOCK_BYTES = 22;

/** The 5-bit quant (0..31) of element e of the block at byte o. */
export function q5_0Quant(src: Uint8Array, o: number, e: number): number {
  return nibbleAt(src, o + 6, e) | (fifthBit(src, o + 2, e) << 4);
}

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ5_0(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += BLOCK_BYTES, y += QK) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    for (let e = 0; e < QK; e++) dst[y + e] = (q5_0Quant(src, o, e) - 16) * d;
  }
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotQ5_0(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  const table = f16Table32();
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < nb; b++, o += BLOCK_BYTES, xi += QK) {
    let s = 0;
    for (let e = 0; e < QK; e++) s += (q5_0Quant(src, o, e) - 16) * (x[xi + e] as number);
    sum += (table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number) * s;
  }
  return sum;
}

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ5_0(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  quantizeSymmetric(5, src, srcOffset, dst, dstOffset, nb);
}
