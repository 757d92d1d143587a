import { nearestInt } from './common.js';
import { lanes } from './ggml-f32.js';
import { f16Table32, f32ToF16 } from './half.js';

const { fround } = Math;

// ---------------------------------------------------------------------------------------------
// from_float.

/**
 * The AVX2 quantize_row_q8_0: max |x| by the vector max tree (maxps keeps its second operand when
 * either is NaN), d = max/127 stored as f16, quants round(x · (127/max)) to nearest even,
 * converted with cvtps2dq (NaN and overflow → INT_MIN) and saturating packs.
 */
export function quantizeQ8_0Avx2(
  x: Float32Array,
  xOffset: number,
  nb: number,
  qs: Int8Array,
  ds: Float32Array,
  sums?: Float32Array,
): void {
  const table = f16Table32();
  for (let b = 0, xi = xOffset, q = 0; b < nb; b++, xi += 32, q += 32) {
    // Eight lane maxima over the four vectors, then the 8 → 4 → 2 → 1 reduction.
    for (let l = 0; l < 8; l++) {
      let m = Math.abs(x[xi + l] as number);
      for (let v = 8; v < 32; v += 8) {
        const a = Math.abs(x[xi + v + l] as number);
        // biome-ignore lint/complexity/useMathMinMax: maxps operand order and NaN semantics
        m = m > a ? m : a;
      }
      lanes[l] = m;
    }
    const h0 = maxps(lanes[4] as number, lanes[0] as number);
    const h1 = maxps(lanes[5] as number, lanes[1] as number);
    const h2 = maxps(lanes[6] as number, lanes[2] as number);
    const h3 = maxps(lanes[7] as number, lanes[3] as number);
    const max = maxps(maxps(h0, h2), maxps(h1, h3));
    const d = fround(max / 127);
    ds[b] = table[f32ToF16(d)] as number;
    const id = max !== 0 ? fround(127 / max) : 0;
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const v = fround((x[xi + j] as number) * id);
      // Round half to even (exact for |v| < 2^51; larger binary32 values are integers already).
      const r = Math.abs(v) < 2 ** 51 ? v + 6755399441055744 - 6755399441055744 : v;
      qs[q + j] = r >= -128 && r <= 127 ? r : r > 127 && r < 2147483648 ? 127 : -128;
      sum += qs[q + j] as number;
    }
    // quantize_row_q8_1: s = d · Σq, stored as f16.
    if (sums) sums[b] = table[f32ToF16(fround(d * sum))] as number;
  }
}

/** _mm_max_ps lane semantics: a > b ? a : b. */
export function maxps(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: maxps operand order and NaN semantics
  return a > b ? a : b;
}

/**
 * quantize_row_q8_K_ref: per 256, iscale = -127/x at max |x| (first such), quants
 * MIN(127, nearest_int(iscale·x)) as int8, d = 1/iscale, bsums of every 16. An all-zero block
 * gets d = 0 and zero quants (ggml leaves its bsums untouched; they only ever meet d = 0).
 */
export function quantizeQ8_K(
  x: Float32Array,
  xOffset: number,
  nb: number,
  qs: Int8Array,
  ds: Float32Array,
  bsums: Int16Array,
): void {
  for (let b = 0, xi = xOffset, q = 0; b < nb; b++, xi += 256, q += 256) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 256; j++) {
      const v = x[xi + j] as number;
      const ax = Math.abs(v);
      if (ax > amax) {
        amax = ax;
        max = v;
      }
    }
    if (amax === 0) {
      ds[b] = 0;
      qs.fill(0, q, q + 256);
      bsums.fill(0, 16 * b, 16 * b + 16);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < 256; j++) {
      const v = nearestInt(fround(iscale * (x[xi + j] as number)));
      qs[q + j] = Math.min(v, 127);
    }
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let i = q + 16 * j, e = i + 16; i < e; i++) sum += qs[i] as number;
      bsums[16 * b + j] = sum;
    }
    ds[b] = fround(1 / iscale);
  }
}
