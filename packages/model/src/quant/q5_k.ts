/**
 * Q5_K: super-blocks of 256 elements in 176 bytes — f16 `d` at byte 0, f16 `dmin` at 2, 12 bytes
 * of packed 6-bit sub-block scales and mins at 4 (as Q4_K), 32 bytes `qh` of high bits at 16, 128
 * bytes of low nibbles `qs` at 48. The 8 sub-blocks of 32 elements decode as
 * `d * sc[s] * q - dmin * m[s]` with `q = nibble + 16 * highBit` in 0..31: each 32-byte run of
 * `qs` holds sub-block 2k in its low nibbles and 2k + 1 in its high nibbles, and byte l of `qh`
 * holds the high bit of element l of sub-block s in bit s. Ports ggml's quantize_row_q5_K_ref and
 * dequantize_row_q5_K.
 */

import {
  dequantizeScaledMins,
  dotScaledMins,
  fitScalesAndMins,
  type ScaledMinsLayout,
} from './q4_k.js';

const QK_K = 256;
const BLOCK_BYTES = 176;

const LAYOUT: ScaledMinsLayout = { blockBytes: BLOCK_BYTES, qs: 48, qh: 16 };

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ5_K(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  dequantizeScaledMins(LAYOUT, src, srcOffset, dst, dstOffset, nb);
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotQ5_K(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  return dotScaledMins(LAYOUT, src, srcOffset, x, xOffset, nb);
}

const L = new Uint8Array(QK_K);

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ5_K(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += QK_K, o += BLOCK_BYTES) {
    fitScalesAndMins(src, xb, dst, o, 31, L);
    const qh = o + 16;
    dst.fill(0, qh, qh + 32);
    for (let n = 0, q = o + 48, bit = 0; n < QK_K; n += 64, q += 32, bit += 2) {
      for (let j = 0; j < 32; j++) {
        const l1 = L[n + j] as number;
        const l2 = L[n + j + 32] as number;
        dst[qh + j] = (dst[qh + j] as number) | ((l1 >> 4) << bit) | ((l2 >> 4) << (bit + 1));
        dst[q + j] = (l1 & 0xf) | ((l2 & 0xf) << 4);
      }
    }
  }
}
