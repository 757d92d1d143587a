/**
 * Q4_K: super-blocks of 256 elements in 144 bytes — f16 `d` at byte 0, f16 `dmin` at 2, 12 bytes
 * of packed 6-bit sub-block scales and mins at 4, 128 bytes of 4-bit quants at 16. The 8
 * sub-blocks of 32 elements decode as `d * sc[s] * q - dmin * m[s]`; each 32-byte run of quants
 * holds sub-block 2k in its low nibbles and sub-block 2k + 1 in its high nibbles. Ports ggml's
 * quantize_row_q4_K_ref (with make_qkx2_quants) and dequantize_row_q4_K.
 */

import { nearestInt, putU16 } from './common.js';
import { f16Table32, f16ToF32, f32ToF16 } from './half.js';

const QK_K = 256;
const BLOCK_BYTES = 144;
const { fround } = Math;

/** get_scale_min_k4: the 6-bit scale (low 8 bits) and min (next 8 bits) of sub-block j. */
export function scaleMin(q: Uint8Array, o: number, j: number): number {
  let sc: number;
  let m: number;
  if (j < 4) {
    sc = (q[o + j] as number) & 63;
    m = (q[o + j + 4] as number) & 63;
  } else {
    sc = ((q[o + j + 4] as number) & 0xf) | (((q[o + j - 4] as number) >> 6) << 4);
    m = ((q[o + j + 4] as number) >> 4) | (((q[o + j] as number) >> 6) << 4);
  }
  return sc | (m << 8);
}

/**
 * Where Q4_K and Q5_K keep their quants: both start with d, dmin and the 12 bytes of scales and
 * mins; Q5_K then has 32 bytes of high bits (`qh`, -1 for none) before the nibbles (`qs`).
 */
export interface ScaledMinsLayout {
  blockBytes: number;
  qs: number;
  qh: number;
}

const Q4_K_LAYOUT: ScaledMinsLayout = { blockBytes: BLOCK_BYTES, qs: 16, qh: -1 };

/**
 * dequantize_row_q4_K and dequantize_row_q5_K: decodes nb blocks from byte `srcOffset` into
 * dst[dstOffset..], bit for bit as ggml. A Q5_K quant is its nibble plus 16 for bit `s` of `qh`
 * byte l, for element l of sub-block s.
 */
export function dequantizeScaledMins(
  layout: ScaledMinsLayout,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  const { blockBytes, qs, qh } = layout;
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += blockBytes) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    const min = table[(src[o + 2] as number) | ((src[o + 3] as number) << 8)] as number;
    const h = o + qh;
    for (let is = 0, q = o + qs; is < 8; is += 2, q += 32) {
      const sm1 = scaleMin(src, o + 4, is);
      const sm2 = scaleMin(src, o + 4, is + 1);
      const d1 = fround(d * (sm1 & 0xff));
      const m1 = fround(min * (sm1 >> 8));
      const d2 = fround(d * (sm2 & 0xff));
      const m2 = fround(min * (sm2 >> 8));
      for (let l = 0; l < 32; l++) {
        const high = qh < 0 ? 0 : (((src[h + l] as number) >> is) & 1) << 4;
        dst[y++] = fround(d1 * (((src[q + l] as number) & 0xf) | high)) - m1;
      }
      for (let l = 0; l < 32; l++) {
        const high = qh < 0 ? 0 : (((src[h + l] as number) >> (is + 1)) & 1) << 4;
        dst[y++] = fround(d2 * (((src[q + l] as number) >> 4) | high)) - m2;
      }
    }
  }
}

/** Dot of the nb Q4_K or Q5_K blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotScaledMins(
  layout: ScaledMinsLayout,
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  const table = f16Table32();
  const { blockBytes, qs, qh } = layout;
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < nb; b++, o += blockBytes) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    const min = table[(src[o + 2] as number) | ((src[o + 3] as number) << 8)] as number;
    const h = o + qh;
    for (let is = 0, q = o + qs; is < 8; is += 2, q += 32, xi += 64) {
      const sm1 = scaleMin(src, o + 4, is);
      const sm2 = scaleMin(src, o + 4, is + 1);
      let sq1 = 0;
      let sx1 = 0;
      let sq2 = 0;
      let sx2 = 0;
      for (let l = 0; l < 32; l++) {
        const qb = src[q + l] as number;
        const hb = qh < 0 ? 0 : (src[h + l] as number) >> is;
        const x1 = x[xi + l] as number;
        const x2 = x[xi + l + 32] as number;
        sq1 += ((qb & 0xf) | ((hb & 1) << 4)) * x1;
        sx1 += x1;
        sq2 += ((qb >> 4) | ((hb & 2) << 3)) * x2;
        sx2 += x2;
      }
      sum +=
        fround(d * (sm1 & 0xff)) * sq1 -
        fround(min * (sm1 >> 8)) * sx1 +
        fround(d * (sm2 & 0xff)) * sq2 -
        fround(min * (sm2 >> 8)) * sx2;
    }
  }
  return sum;
}

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ4_K(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  dequantizeScaledMins(Q4_K_LAYOUT, src, srcOffset, dst, dstOffset, nb);
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotQ4_K(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  return dotScaledMins(Q4_K_LAYOUT, src, srcOffset, x, xOffset, nb);
}

/**
 * make_qkx2_quants: the scale and min (returned as `-min` in `out[1]`) of an asymmetric
 * `nmax`-level fit of x[xo..xo+n) under `weights`, searching nstep + 1 candidate scales.
 * Writes the levels into L[lo..lo+n); every float operation rounds to binary32 as in C.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
  out: Float32Array,
): void {
  let min = x[xo] as number;
  let max = min;
  let sumW = weights[0] as number;
  let sumX = fround(sumW * min);
  for (let i = 1; i < n; i++) {
    const xv = x[xo + i] as number;
    if (xv < min) min = xv;
    if (xv > max) max = xv;
    const w = weights[i] as number;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * xv));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    out[0] = 0;
    out[1] = -min;
    return;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xv = x[xo + i] as number;
    const l = nearestInt(fround(iscale * fround(xv - min)));
    const li = Math.max(0, Math.min(nmax, l));
    L[lo + i] = li;
    let diff = fround(fround(fround(scale * li) + min) - xv);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestError = fround(bestError + fround((weights[i] as number) * diff));
  }
  if (nstep < 1) {
    out[0] = scale;
    out[1] = -min;
    return;
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` may have been replaced by a better fit's min in an earlier step, as in C.
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xv = x[xo + i] as number;
      let l = nearestInt(fround(iscale * fround(xv - min)));
      l = Math.max(0, Math.min(nmax, l));
      Laux[i] = l;
      const w = weights[i] as number;
      const wl = fround(w * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * xv));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fround(fround(fround(thisScale * (Laux[i] as number)) + thisMin) - x[xo + i]!);
        diff = useMad ? Math.abs(diff) : fround(diff * diff);
        curError = fround(curError + fround((weights[i] as number) * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i] as number;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  out[0] = scale;
  out[1] = -min;
}

// Per-call scratch, reused (quantization is single-threaded per module instance).
const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const mins = new Float32Array(QK_K / 32);
const scales = new Float32Array(QK_K / 32);
const fit = new Float32Array(2);

/**
 * The first half of quantize_row_q{4,5}_K_ref for the super-block at src[xb..xb+256): fits each
 * sub-block of 32 with make_qkx2_quants (`nmax` 15 for Q4_K, 31 for Q5_K, with that type's search),
 * writes f16 `d` and `dmin` at dst[o..o+4) and the packed 6-bit scales and mins at dst[o+4..o+16),
 * and leaves each element's level (0..nmax) under the rounded scales in `levels`.
 */
export function fitScalesAndMins(
  src: Float32Array,
  xb: number,
  dst: Uint8Array,
  o: number,
  nmax: 15 | 31,
  levels: Uint8Array,
): void {
  let maxScale = 0;
  let maxMin = 0;
  const [rmin, nstep] = nmax === 15 ? [-1, 20] : [-0.5, 15];
  for (let j = 0; j < QK_K / 32; j++) {
    const xo = xb + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = src[xo + l] as number;
      sumX2 = fround(sumX2 + fround(v * v));
    }
    const avX = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(src[xo + l] as number);
    makeQkx2Quants(
      32,
      nmax,
      src,
      xo,
      weights,
      levels,
      32 * j,
      Laux,
      rmin,
      fround(0.1),
      nstep,
      false,
      fit,
    );
    const scale = fit[0] as number;
    scales[j] = scale;
    if (scale > maxScale) maxScale = scale;
    const min = fit[1] as number;
    mins[j] = min;
    if (min > maxMin) maxMin = min;
  }

  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const sc = o + 4;
  for (let j = 0; j < QK_K / 32; j++) {
    let ls = nearestInt(fround(invScale * (scales[j] as number))) & 0xff;
    let lm = nearestInt(fround(invMin * (mins[j] as number))) & 0xff;
    ls = Math.min(63, ls);
    lm = Math.min(63, lm);
    if (j < 4) {
      dst[sc + j] = ls;
      dst[sc + j + 4] = lm;
    } else {
      dst[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      dst[sc + j - 4] = (dst[sc + j - 4] as number) | ((ls >> 4) << 6);
      dst[sc + j] = (dst[sc + j] as number) | ((lm >> 4) << 6);
    }
  }
  const dBits = f32ToF16(fround(maxScale / 63));
  const dminBits = f32ToF16(fround(maxMin / 63));
  putU16(dst, o, dBits);
  putU16(dst, o + 2, dminBits);

  for (let j = 0; j < QK_K / 32; j++) {
    const sm = scaleMin(dst, sc, j);
    const d = fround(f16ToF32(dBits) * (sm & 0xff));
    if (d === 0) continue;
    const dm = fround(f16ToF32(dminBits) * (sm >> 8));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fround(fround((src[xb + 32 * j + ii] as number) + dm) / d));
      levels[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ4_K(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += QK_K, o += BLOCK_BYTES) {
    fitScalesAndMins(src, xb, dst, o, 15, L);
    for (let j = 0, q = o + 16; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) {
        dst[q + l] = (L[j + l] as number) | ((L[j + l + 32] as number) << 4);
      }
    }
  }
}
