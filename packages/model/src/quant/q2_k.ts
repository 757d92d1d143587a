/**
 * Q2_K: super-blocks of 256 elements in 84 bytes — 16 bytes of scales at byte 0 (sub-block s of 16
 * elements: scale in the low nibble, min in the high one), 64 bytes of 2-bit quants `qs` at 16,
 * f16 `d` at 80 and f16 `dmin` at 82. Element 128h + 32j + l (l < 32) is bits 2j..2j+1 of
 * `qs[32h + l]`, in sub-block 8h + 2j + (l ≥ 16), and decodes as `d·sc·q − dmin·m`. Ports ggml's
 * quantize_row_q2_K_ref (make_qkx2_quants, mean absolute deviation) and dequantize_row_q2_K.
 */

import { dotByBlocks, nearestInt, putU16 } from './common.js';
import { f16Table32, f16ToF32, f32ToF16 } from './half.js';
import { makeQkx2Quants } from './q4_k.js';

const QK_K = 256;
const BLOCK_BYTES = 84;
const { fround } = Math;

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ2_K(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += BLOCK_BYTES) {
    const d = table[(src[o + 80] as number) | ((src[o + 81] as number) << 8)] as number;
    const min = table[(src[o + 82] as number) | ((src[o + 83] as number) << 8)] as number;
    for (let h = 0, is = 0; h < 2; h++) {
      const q = o + 16 + 32 * h;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16, is++) {
          const sc = src[o + is] as number;
          const dl = fround(d * (sc & 0xf));
          const ml = fround(min * (sc >> 4));
          for (let l = half; l < half + 16; l++) {
            dst[y++] = fround(dl * (((src[q + l] as number) >> shift) & 3)) - ml;
          }
        }
      }
    }
  }
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], one decoded block at a time. */
export function dotQ2_K(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  return dotByBlocks(dequantizeQ2_K, BLOCK_BYTES, src, srcOffset, x, xOffset, nb);
}

// Per-call scratch (quantization is single-threaded per module instance).
const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(16);
const weights = new Float32Array(16);
const scales = new Float32Array(QK_K / 16);
const mins = new Float32Array(QK_K / 16);
const fit = new Float32Array(2);

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ2_K(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += QK_K, o += BLOCK_BYTES) {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < QK_K / 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(src[xb + 16 * j + l] as number);
      makeQkx2Quants(
        16,
        3,
        src,
        xb + 16 * j,
        weights,
        L,
        16 * j,
        Laux,
        -0.5,
        fround(0.1),
        15,
        true,
        fit,
      );
      scales[j] = fit[0] as number;
      mins[j] = fit[1] as number;
      if ((scales[j] as number) > maxScale) maxScale = scales[j] as number;
      if ((mins[j] as number) > maxMin) maxMin = mins[j] as number;
    }
    let dBits = 0;
    if (maxScale > 0) {
      const iscale = fround(15 / maxScale);
      for (let j = 0; j < 16; j++)
        dst[o + j] = nearestInt(fround(iscale * (scales[j] as number))) & 0xff;
      dBits = f32ToF16(fround(maxScale / 15));
    } else {
      dst.fill(0, o, o + 16);
    }
    let dminBits = 0;
    if (maxMin > 0) {
      const iscale = fround(15 / maxMin);
      for (let j = 0; j < 16; j++) {
        const l = nearestInt(fround(iscale * (mins[j] as number)));
        dst[o + j] = ((dst[o + j] as number) | (l << 4)) & 0xff;
      }
      dminBits = f32ToF16(fround(maxMin / 15));
    }
    putU16(dst, o + 80, dBits);
    putU16(dst, o + 82, dminBits);
    for (let j = 0; j < 16; j++) {
      const sc = dst[o + j] as number;
      const d = fround(f16ToF32(dBits) * (sc & 0xf));
      if (d === 0) continue;
      const dm = fround(f16ToF32(dminBits) * (sc >> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(fround((src[xb + 16 * j + ii] as number) + dm) / d));
        L[16 * j + ii] = Math.max(0, Math.min(3, l));
      }
    }
    packTwoBits(L, dst, o + 16);
  }
}

/**
 * Packs 256 levels of 0..3 as Q2_K and Q3_K store their low bits: byte 32h + l holds elements
 * 128h + l, +32, +64 and +96 in bits 0–1, 2–3, 4–5 and 6–7.
 */
export function packTwoBits(levels: Uint8Array, dst: Uint8Array, at: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      dst[at + j / 4 + l] =
        (levels[j + l] as number) |
        ((levels[j + l + 32] as number) << 2) |
        ((levels[j + l + 64] as number) << 4) |
        ((levels[j + l + 96] as number) << 6);
    }
  }
}
