/**
 * The 4-bit non-linear quants: each 4-bit index picks one of 16 levels of `kvalues_iq4nl`, spaced
 * closer near zero. IQ4_NL: blocks of 32 elements in 18 bytes — f16 `d` at byte 0, then 16 bytes
 * of indices (byte j: element j in the low nibble, element j + 16 in the high one); element value
 * `d · level`. IQ4_XS: super-blocks of 256 in 136 bytes — f16 `d` at 0, u16 `scales_h` at 2, 4
 * bytes `scales_l` at 4, then 128 bytes of indices, 16 per sub-block of 32 laid out as IQ4_NL's;
 * sub-block s has the 6-bit scale `ls = nibble s of scales_l | bits 2s..2s+1 of scales_h << 4` and
 * decodes as `d · (ls − 32) · level`. Ports ggml's quantize_row_iq4_{nl,xs}_ref
 * (quantize_row_iq4_nl_impl without importance weights) and dequantize_row_iq4_{nl,xs}.
 */

import { dotByBlocks, nearestInt, putU16 } from './common.js';
import { f16Table32, f32ToF16 } from './half.js';

/** ggml's `kvalues_iq4nl`: the 16 levels a 4-bit index picks. */
export const IQ4_LEVELS: Int8Array = Int8Array.of(
  -127,
  -104,
  -83,
  -65,
  -49,
  -35,
  -22,
  -10,
  1,
  13,
  25,
  38,
  53,
  69,
  89,
  113,
);

const NL_BYTES = 18;
const XS_BYTES = 136;
const GROUP_MAX_EPS = Math.fround(1e-15);
const { fround } = Math;

/** The 6-bit scale (0..63; the value is this minus 32) of IQ4_XS sub-block s. */
export function iq4xsScale(src: Uint8Array, o: number, s: number): number {
  const low = ((src[o + 4 + (s >> 1)] as number) >> (4 * (s & 1))) & 0xf;
  const scalesH = (src[o + 2] as number) | ((src[o + 3] as number) << 8);
  return low | (((scalesH >> (2 * s)) & 3) << 4);
}

/** Decodes the 32 indices at byte `q` with scale `dl` into dst[y..y+32). */
function decode32(src: Uint8Array, q: number, dl: number, dst: Float32Array, y: number): void {
  for (let j = 0; j < 16; j++) {
    const b = src[q + j] as number;
    dst[y + j] = fround(dl * (IQ4_LEVELS[b & 0xf] as number));
    dst[y + j + 16] = fround(dl * (IQ4_LEVELS[b >> 4] as number));
  }
}

/** Decodes nb IQ4_NL blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeIQ4_NL(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += NL_BYTES, y += 32) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    decode32(src, o + 2, d, dst, y);
  }
}

/** Decodes nb IQ4_XS blocks from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeIQ4_XS(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  nb: number,
): void {
  const table = f16Table32();
  for (let b = 0, o = srcOffset, y = dstOffset; b < nb; b++, o += XS_BYTES) {
    const d = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
    for (let s = 0; s < 8; s++, y += 32) {
      decode32(src, o + 8 + 16 * s, fround(d * (iq4xsScale(src, o, s) - 32)), dst, y);
    }
  }
}

/** Dot of nb IQ4_NL blocks at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotIQ4_NL(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  const table = f16Table32();
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < nb; b++, o += NL_BYTES, xi += 32) {
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j] as number;
      s +=
        (IQ4_LEVELS[q & 0xf] as number) * (x[xi + j] as number) +
        (IQ4_LEVELS[q >> 4] as number) * (x[xi + j + 16] as number);
    }
    sum += (table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number) * s;
  }
  return sum;
}

/** Dot of nb IQ4_XS blocks at byte `srcOffset` with x[xOffset..], one decoded block at a time. */
export function dotIQ4_XS(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  return dotByBlocks(dequantizeIQ4_XS, XS_BYTES, src, srcOffset, x, xOffset, nb);
}

/** ggml's best_index_int8: the index of the level nearest `x` (ties to the lower one). */
function bestIndex(x: number): number {
  const val = IQ4_LEVELS;
  if (x <= (val[0] as number)) return 0;
  if (x >= (val[15] as number)) return 15;
  let ml = 0;
  let mu = 15;
  while (mu - ml > 1) {
    const mav = (ml + mu) >> 1;
    if (x < (val[mav] as number)) mu = mav;
    else ml = mav;
  }
  return fround(x - (val[mu - 1] as number)) < fround((val[mu] as number) - x) ? mu - 1 : mu;
}

// Per-call scratch. Like ggml's stack buffer, `L` keeps the previous block's indices for a block
// too small to quantize (its scale is zero, so they decode to zero either way).
const L = new Uint8Array(256);
const weight = new Float32Array(32);
const scales = new Float32Array(8);

/**
 * The first part of quantize_row_iq4_nl_impl for the `blocks` blocks of 32 at src[xb..]: each
 * block's least-squares scale over the levels (with `ntry` scales tried either side of the first
 * guess; -1 tries none), its indices in `L`, and the scale of largest magnitude.
 */
function fitBlocks(src: Float32Array, xb: number, blocks: number, ntry: number): number {
  let maxScale = 0;
  let amaxScale = 0;
  const v0 = IQ4_LEVELS[0] as number;
  for (let ib = 0; ib < blocks; ib++) {
    const x0 = xb + 32 * ib;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = src[x0 + j] as number;
      weight[j] = fround(v * v);
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    let d = ntry > 0 ? fround(-max / v0) : fround(max / v0);
    let id = fround(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const v = src[x0 + j] as number;
      const l = bestIndex(fround(id * v));
      L[32 * ib + j] = l;
      const q = IQ4_LEVELS[l] as number;
      const w = weight[j] as number;
      sumqx = fround(sumqx + fround(fround(w * q) * v));
      sumq2 = fround(sumq2 + fround(fround(w * q) * q));
    }
    d = fround(sumqx / sumq2);
    let best = fround(d * sumqx);
    for (let itry = -ntry; itry <= ntry; itry++) {
      id = fround((itry + v0) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const v = src[x0 + j] as number;
        const q = IQ4_LEVELS[bestIndex(fround(id * v))] as number;
        const w = weight[j] as number;
        sumqx = fround(sumqx + fround(fround(w * q) * v));
        sumq2 = fround(sumq2 + fround(fround(w * q) * q));
      }
      if (sumq2 > 0 && fround(sumqx * sumqx) > fround(best * sumq2)) {
        d = fround(sumqx / sumq2);
        best = fround(d * sumqx);
      }
    }
    scales[ib] = d;
    if (Math.abs(d) > amaxScale) {
      amaxScale = Math.abs(d);
      maxScale = d;
    }
  }
  return maxScale;
}

/** Packs `blocks` blocks of indices from `L` as 16 bytes each at dst[q..]. */
function packIndices(dst: Uint8Array, q: number, blocks: number): void {
  for (let i = 0; i < blocks; i++) {
    for (let j = 0; j < 16; j++) {
      dst[q + 16 * i + j] = (L[32 * i + j] as number) | ((L[32 * i + 16 + j] as number) << 4);
    }
  }
}

/** Encodes nb IQ4_NL blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeIQ4_NL(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += 32, o += NL_BYTES) {
    fitBlocks(src, xb, 1, -1);
    putU16(dst, o, f32ToF16(scales[0] as number));
    packIndices(dst, o + 2, 1);
  }
}

/** Encodes nb IQ4_XS blocks of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeIQ4_XS(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  nb: number,
): void {
  for (let b = 0, xb = srcOffset, o = dstOffset; b < nb; b++, xb += 256, o += XS_BYTES) {
    const maxScale = fitBlocks(src, xb, 8, 7);
    const d = fround(-maxScale / 32);
    putU16(dst, o, f32ToF16(d));
    const id = d ? fround(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < 8; ib++) {
      let l = nearestInt(fround(id * (scales[ib] as number)));
      l = Math.max(-32, Math.min(31, l));
      const dl = fround(d * l);
      const idl = dl ? fround(1 / dl) : 0;
      for (let j = 0; j < 32; j++) {
        L[32 * ib + j] = bestIndex(fround(idl * (src[xb + 32 * ib + j] as number)));
      }
      l += 32;
      const at = o + 4 + (ib >> 1);
      dst[at] = ib % 2 === 0 ? l & 0xf : (dst[at] as number) | ((l & 0xf) << 4);
      scalesH |= (l >> 4) << (2 * ib);
    }
    putU16(dst, o + 2, scalesH);
    packIndices(dst, o + 8, 8);
  }
}
