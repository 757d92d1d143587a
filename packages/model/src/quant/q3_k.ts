/**
 * Q3_K: super-blocks of 256 elements in 110 bytes — 32 bytes `hmask` of high bits at byte 0, 64
 * bytes of low 2-bit quants `qs` at 32, 12 bytes of packed 6-bit signed sub-block scales at 96
 * and f16 `d` at 108. Element 128h + 32j + l (l < 32) takes bits 2j..2j+1 of `qs[32h + l]` and,
 * as its high bit, bit 4h + j of `hmask[l]`; it decodes as `d·(sc − 32)·(q − 4·!high)` with the
 * scale of sub-block 8h + 2j + (l ≥ 16). Ports ggml's quantize_row_q3_K_ref (make_q3_quants) and
 * dequantize_row_q3_K.
 */

import { dotByBlocks, nearestInt, putU16 } from './common.js';
import { f16Table32, f16ToF32, f32ToF16 } from './half.js';
import { packTwoBits } from './q2_k.js';

const QK_K = 256;
const BLOCK_BYTES = 110;
const GROUP_MAX_EPS = Math.fround(1e-15);
const { fround } = Math;

/** The 6-bit scale of sub-block j (0..15), as stored (0..63; the value is this minus 32). */
export function q3Scale(src: Uint8Array, s: number, j: number): number {
  const low = j < 8 ? (src[s + j] as number) & 0xf : (src[s + j - 8] as number) >> 4;
  return low | ((((src[s + 8 + (j % 4)] as number) >> (2 * (j >> 2))) & 3) << 4);
}

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ3_K(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += BLOCK_BYTES) {
    const dAll = table[(src[o + 108] as number) | ((src[o + 109] as number) << 8)] as number;
    for (let h = 0, is = 0, bit = 0; h < 2; h++) {
      const q = o + 32 + 32 * h;
      for (let shift = 0; shift < 8; shift += 2, bit++) {
        for (let half = 0; half < 32; half += 16, is++) {
          const dl = fround(dAll * (q3Scale(src, o + 96, is) - 32));
          for (let l = half; l < half + 16; l++) {
            const low = ((src[q + l] as number) >> shift) & 3;
            const high = ((src[o + l] as number) >> bit) & 1;
            dst[y++] = fround(dl * (low - (high ? 0 : 4)));
          }
        }
      }
    }
  }
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], one decoded block at a time. */
export function dotQ3_K(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  return dotByBlocks(dequantizeQ3_K, BLOCK_BYTES, src, srcOffset, x, xOffset, nb);
}

/**
 * make_q3_quants with do_rmse: the signed scale of a symmetric `nmax`-level fit of x[xo..xo+n),
 * refined by a few passes of coordinate descent; writes levels 0..2·nmax−1 into L[lo..lo+n).
 * Every float operation rounds to binary32 as in C.
 */
function makeQ3Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Int8Array,
  lo: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i] as number);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i] as number;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xv = x[xo + i] as number;
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fround(iscale * xv))));
    L[lo + i] = l;
    const w = fround(xv * xv);
    sumlx = fround(sumlx + fround(fround(w * xv) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xv = x[xo + i] as number;
      const w = fround(xv * xv);
      const li = L[lo + i] as number;
      let slx = fround(sumlx - fround(fround(w * xv) * li));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * li) * li));
        let nl = nearestInt(fround(fround(xv * sl2) / slx));
        nl = Math.max(-nmax, Math.min(nmax - 1, nl));
        if (nl !== li) {
          slx = fround(slx + fround(fround(w * xv) * nl));
          sl2 = fround(sl2 + fround(fround(w * nl) * nl));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[lo + i] = nl;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (changed === 0) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = (L[lo + i] as number) + nmax;
  return fround(sumlx / suml2);
}

// Per-call scratch (quantization is single-threaded per module instance).
const L = new Int8Array(QK_K);
const levels = new Uint8Array(QK_K);
const scales = new Float32Array(QK_K / 16);

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ3_K(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += QK_K, o += BLOCK_BYTES) {
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(16, 4, src, xb + 16 * j, L, 16 * j);
      const scale = Math.abs(scales[j] as number);
      if (scale > amax) {
        amax = scale;
        maxScale = scales[j] as number;
      }
    }
    const s = o + 96;
    dst.fill(0, s, s + 12);
    let dBits = 0;
    if (maxScale !== 0) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        // `int8_t l = nearest_int(…)`, clamped to [-32, 31], then biased by 32.
        const l8 = (nearestInt(fround(iscale * (scales[j] as number))) << 24) >> 24;
        const l = Math.max(-32, Math.min(31, l8)) + 32;
        if (j < 8) dst[s + j] = l & 0xf;
        else dst[s + j - 8] = (dst[s + j - 8] as number) | ((l & 0xf) << 4);
        dst[s + 8 + (j % 4)] = (dst[s + 8 + (j % 4)] as number) | ((l >> 4) << (2 * (j >> 2)));
      }
      dBits = f32ToF16(fround(1 / iscale));
    }
    putU16(dst, o + 108, dBits);
    for (let j = 0; j < 16; j++) {
      const d = fround(f16ToF32(dBits) * (q3Scale(dst, s, j) - 32));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround((src[xb + 16 * j + ii] as number) / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    dst.fill(0, o, o + 32);
    for (let j = 0; j < QK_K; j++) {
      let l = L[j] as number;
      if (l > 3) {
        dst[o + (j % 32)] = (dst[o + (j % 32)] as number) | (1 << (j >> 5));
        l -= 4;
      }
      levels[j] = l;
    }
    packTwoBits(levels, dst, o + 32);
  }
}
