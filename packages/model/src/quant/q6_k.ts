/**
 * Q6_K: super-blocks of 256 elements in 210 bytes — `ql[128]` (low 4 bits) at 0, `qh[64]` (high
 * 2 bits) at 128, 16 int8 sub-block scales at 192, f16 `d` at 208. Element value is
 * `d * scales[s] * (q - 32)` for 6-bit q over 16 sub-blocks of 16. Each 128-element half uses
 * 64 bytes of ql and 32 of qh: for l < 32, elements l, l+32, l+64, l+96 take the low nibble of
 * ql[l], low of ql[l+32], high of ql[l], high of ql[l+32], and bits 0-1, 2-3, 4-5, 6-7 of qh[l].
 * Ports ggml's quantize_row_q6_K_ref (with make_qx_quants) and dequantize_row_q6_K.
 */

import { nearestInt, putU16 } from './common.js';
import { f16Table32, f16ToF32, f32ToF16 } from './half.js';

const QK_K = 256;
const BLOCK_BYTES = 210;
const GROUP_MAX_EPS = Math.fround(1e-15);
const { fround } = Math;

/** Decodes nb blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeQ6_K(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, yb = dstOffset; b < nb; b++, o += BLOCK_BYTES) {
    const d = table[(src[o + 208] as number) | ((src[o + 209] as number) << 8)] as number;
    for (let half = 0; half < 2; half++, yb += 128) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const sc = o + 192 + 8 * half;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const lo = src[ql + l] as number;
        const hi = src[ql + l + 32] as number;
        const h = src[qh + l] as number;
        const q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((hi & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[yb + l] = fround(d * (((src[sc + is] as number) << 24) >> 24)) * q1;
        dst[yb + l + 32] = fround(d * (((src[sc + is + 2] as number) << 24) >> 24)) * q2;
        dst[yb + l + 64] = fround(d * (((src[sc + is + 4] as number) << 24) >> 24)) * q3;
        dst[yb + l + 96] = fround(d * (((src[sc + is + 6] as number) << 24) >> 24)) * q4;
      }
    }
  }
}

/** Dot of the nb blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotQ6_K(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  const table = f16Table32();
  let sum = 0;
  for (let b = 0, o = srcOffset, xb = xOffset; b < nb; b++, o += BLOCK_BYTES) {
    const d = table[(src[o + 208] as number) | ((src[o + 209] as number) << 8)] as number;
    for (let half = 0; half < 2; half++, xb += 128) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const sc = o + 192 + 8 * half;
      for (let is = 0; is < 2; is++) {
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let s4 = 0;
        for (let l = 16 * is; l < 16 * is + 16; l++) {
          const lo = src[ql + l] as number;
          const hi = src[ql + l + 32] as number;
          const h = src[qh + l] as number;
          const xi = xb + l;
          s1 += (((lo & 0xf) | ((h & 3) << 4)) - 32) * (x[xi] as number);
          s2 += (((hi & 0xf) | (((h >> 2) & 3) << 4)) - 32) * (x[xi + 32] as number);
          s3 += (((lo >> 4) | (((h >> 4) & 3) << 4)) - 32) * (x[xi + 64] as number);
          s4 += (((hi >> 4) | (((h >> 6) & 3) << 4)) - 32) * (x[xi + 96] as number);
        }
        sum +=
          fround(d * (((src[sc + is] as number) << 24) >> 24)) * s1 +
          fround(d * (((src[sc + is + 2] as number) << 24) >> 24)) * s2 +
          fround(d * (((src[sc + is + 4] as number) << 24) >> 24)) * s3 +
          fround(d * (((src[sc + is + 6] as number) << 24) >> 24)) * s4;
      }
    }
  }
  return sum;
}

/** The weight make_qx_quants gives element x for `rmseType` (qw absent). */
function qxWeight(rmseType: number, x: number): number {
  if (rmseType === 1) return fround(x * x);
  if (rmseType === 2) return 1;
  if (rmseType === 3) return Math.abs(x);
  return fround(Math.sqrt(Math.abs(x)));
}

/**
 * make_qx_quants: the scale of a symmetric fit of x[xo..xo+n) to levels -nmax..nmax-1, writing
 * `level + nmax` into L[lo..lo+n). Every float operation rounds to binary32 as in C.
 */
function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Int8Array,
  lo: number,
  rmseTypeIn: number,
  qw: Float32Array | null,
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
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  if (rmseTypeIn === 0) {
    for (let i = 0; i < n; i++) {
      const l = nearestInt(fround(iscale * (x[xo + i] as number)));
      L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
    }
    return fround(1 / iscale);
  }
  let rmseType = rmseTypeIn;
  let returnEarly = false;
  if (rmseType < 0) {
    rmseType = -rmseType;
    returnEarly = true;
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xv = x[xo + i] as number;
    let l = nearestInt(fround(iscale * xv));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l + nmax;
    const w = qw ? (qw[i] as number) : qxWeight(rmseType, xv);
    sumlx = fround(sumlx + fround(fround(w * xv) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  if (returnEarly) {
    return suml2 > 0 ? fround(0.5 * fround(scale + fround(1 / iscale))) : fround(1 / iscale);
  }
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(fround(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xv = x[xo + i] as number;
      let l = nearestInt(fround(iscale * xv));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = qw ? (qw[i] as number) : qxWeight(rmseType, xv);
      sumlx = fround(sumlx + fround(fround(w * xv) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fround(iscale * (x[xo + i] as number)));
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

// Per-call scratch, reused.
const L = new Int8Array(QK_K);
const scales = new Float32Array(QK_K / 16);

/** Encodes nb blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeQ6_K(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += QK_K, o += BLOCK_BYTES) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < QK_K / 16; ib++) {
      const scale = makeQxQuants(16, 32, src, xb + 16 * ib, L, 16 * ib, 1, null);
      scales[ib] = scale;
      const absScale = Math.abs(scale);
      if (absScale > maxAbsScale) {
        maxAbsScale = absScale;
        maxScale = scale;
      }
    }

    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + BLOCK_BYTES);
      putU16(dst, o + 208, f32ToF16(0));
      continue;
    }

    const iscale = fround(-128 / maxScale);
    const dBits = f32ToF16(fround(1 / iscale));
    putU16(dst, o + 208, dBits);
    for (let ib = 0; ib < QK_K / 16; ib++) {
      dst[o + 192 + ib] = Math.min(127, nearestInt(fround(iscale * (scales[ib] as number)))) & 0xff;
    }

    for (let j = 0; j < QK_K / 16; j++) {
      const d = fround(f16ToF32(dBits) * (((dst[o + 192 + j] as number) << 24) >> 24));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        let l = nearestInt(fround((src[xb + 16 * j + ii] as number) / d));
        l = Math.max(-32, Math.min(31, l));
        L[16 * j + ii] = l + 32;
      }
    }

    for (let j = 0, ql = o, qh = o + 128; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const l0 = L[j + l] as number;
        const l1 = L[j + l + 32] as number;
        const l2 = L[j + l + 64] as number;
        const l3 = L[j + l + 96] as number;
        dst[ql + l] = (l0 & 0xf) | ((l2 & 0xf) << 4);
        dst[ql + l + 32] = (l1 & 0xf) | ((l3 & 0xf) << 4);
        dst[qh + l] = (l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6);
      }
    }
  }
}
