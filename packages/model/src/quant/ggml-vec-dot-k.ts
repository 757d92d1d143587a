import { fmaF32, hsumLanes, laneSums, lanes } from './ggml-f32.js';
import { f16Table32 } from './half.js';
import { IQ4_LEVELS, iq4xsScale } from './iq4.js';
import type { PreparedActivations } from './prepared-activations.js';
import { q3Scale } from './q3_k.js';
import { scaleMin } from './q4_k.js';

const { fround } = Math;

/**
 * ggml_vec_dot_q4_K_q8_K, AVX2: lane l sums sc·q4·q8 over elements 4l..4l+3 of each 32; the mins
 * go to a separate 4-lane accumulator of dmin·(m[2k]·bsum-pair + m[2k+1]·bsum-pair).
 */
export function dotQ4_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 144, q += 256) {
    const yd = ds[b] as number;
    const d = fround(yd * (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number));
    const dmin = -fround(
      yd * (table[(row[o + 2] as number) | ((row[o + 3] as number) << 8)] as number),
    );
    // The 6-bit scales and mins (get_scale_min_k4 / the utmp shuffle).
    const s = o + 4;
    const s0 = row[s] as number;
    const s1 = row[s + 1] as number;
    const s2 = row[s + 2] as number;
    const s3 = row[s + 3] as number;
    const s4 = row[s + 4] as number;
    const s5 = row[s + 5] as number;
    const s6 = row[s + 6] as number;
    const s7 = row[s + 7] as number;
    const s8 = row[s + 8] as number;
    const s9 = row[s + 9] as number;
    const s10 = row[s + 10] as number;
    const s11 = row[s + 11] as number;
    const min0 = s4 & 63;
    const min1 = s5 & 63;
    const min2 = s6 & 63;
    const min3 = s7 & 63;
    const min4 = (s8 >> 4) | ((s4 >> 6) << 4);
    const min5 = (s9 >> 4) | ((s5 >> 6) << 4);
    const min6 = (s10 >> 4) | ((s6 >> 6) << 4);
    const min7 = (s11 >> 4) | ((s7 >> 6) << 4);
    // _mm_hadd_epi16 of the bsums: pairs p_k = bsums[2k] + bsums[2k + 1].
    const bs = 16 * b;
    const p0 = (bsums[bs] as number) + (bsums[bs + 1] as number);
    const p1 = (bsums[bs + 2] as number) + (bsums[bs + 3] as number);
    const p2 = (bsums[bs + 4] as number) + (bsums[bs + 5] as number);
    const p3 = (bsums[bs + 6] as number) + (bsums[bs + 7] as number);
    const p4 = (bsums[bs + 8] as number) + (bsums[bs + 9] as number);
    const p5 = (bsums[bs + 10] as number) + (bsums[bs + 11] as number);
    const p6 = (bsums[bs + 12] as number) + (bsums[bs + 13] as number);
    const p7 = (bsums[bs + 14] as number) + (bsums[bs + 15] as number);
    m0 = fmaF32(dmin, min0 * p0 + min1 * p1, m0);
    m1 = fmaF32(dmin, min2 * p2 + min3 * p3, m1);
    m2 = fmaF32(dmin, min4 * p4 + min5 * p5, m2);
    m3 = fmaF32(dmin, min6 * p6 + min7 * p7, m3);
    sumi.fill(0);
    for (let j = 0; j < 4; j++) {
      let scLo: number;
      let scHi: number;
      if (j === 0) {
        scLo = s0 & 63;
        scHi = s1 & 63;
      } else if (j === 1) {
        scLo = s2 & 63;
        scHi = s3 & 63;
      } else if (j === 2) {
        scLo = (s8 & 15) | ((s0 >> 6) << 4);
        scHi = (s9 & 15) | ((s1 >> 6) << 4);
      } else {
        scLo = (s10 & 15) | ((s2 >> 6) << 4);
        scHi = (s11 & 15) | ((s3 >> 6) << 4);
      }
      const w0 = o + 16 + 32 * j;
      const a0 = q + 64 * j;
      for (let l = 0, w = w0, a = a0; l < 8; l++, w += 4, a += 4) {
        const b0 = row[w] as number;
        const b1 = row[w + 1] as number;
        const b2 = row[w + 2] as number;
        const b3 = row[w + 3] as number;
        const lo =
          (b0 & 15) * (qs[a] as number) +
          (b1 & 15) * (qs[a + 1] as number) +
          (b2 & 15) * (qs[a + 2] as number) +
          (b3 & 15) * (qs[a + 3] as number);
        const hi =
          (b0 >> 4) * (qs[a + 32] as number) +
          (b1 >> 4) * (qs[a + 33] as number) +
          (b2 >> 4) * (qs[a + 34] as number) +
          (b3 >> 4) * (qs[a + 35] as number);
        sumi[l] = (sumi[l] as number) + scLo * lo + scHi * hi;
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return fround(hsumLanes(acc) + fround(fround(m0 + m2) + fround(m1 + m3)));
}

/**
 * Σ level·q8 over elements 4l..4l+3 of the 32-element block whose indices start at byte `w` and
 * whose activations start at `a` (element e < 16: low nibble of byte e; else high nibble of e − 16).
 */
export function iq4Lane(row: Uint8Array, w: number, q8: Int8Array, a: number, l: number): number {
  let sum = 0;
  for (let e = 4 * l; e < 4 * l + 4; e++) {
    const index = e < 16 ? (row[w + e] as number) & 15 : (row[w + e - 16] as number) >> 4;
    sum += (IQ4_LEVELS[index] as number) * (q8[a + e] as number);
  }
  return sum;
}

export const lanesOdd = new Float64Array(8);

/**
 * ggml_vec_dot_iq4_nl_q8_0, AVX2: blocks in pairs, even ones into one 8-lane accumulator and odd
 * ones into another (lane l: elements 4l..4l+3), added lane by lane before the horizontal sum; a
 * last unpaired block is summed whole and added with one FMA.
 */
export function dotIQ4_NL(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const even = lanes.fill(0);
  const odd = lanesOdd.fill(0);
  const nb = act.n >> 5;
  const scale = (b: number) =>
    fround(
      (act.d[b] as number) *
        (table[
          (row[rowOffset + 18 * b] as number) | ((row[rowOffset + 18 * b + 1] as number) << 8)
        ] as number),
    );
  let b = 0;
  for (; b + 1 < nb; b += 2) {
    const d0 = scale(b);
    const d1 = scale(b + 1);
    for (let l = 0; l < 8; l++) {
      even[l] = fmaF32(
        d0,
        iq4Lane(row, rowOffset + 18 * b + 2, act.qs, 32 * b, l),
        even[l] as number,
      );
      odd[l] = fmaF32(
        d1,
        iq4Lane(row, rowOffset + 18 * b + 20, act.qs, 32 * b + 32, l),
        odd[l] as number,
      );
    }
  }
  for (let l = 0; l < 8; l++) even[l] = fround((even[l] as number) + (odd[l] as number));
  let sum = hsumLanes(even);
  if (b < nb) {
    let sumi = 0;
    for (let l = 0; l < 8; l++) sumi += iq4Lane(row, rowOffset + 18 * b + 2, act.qs, 32 * b, l);
    sum = fmaF32(scale(b), sumi, sum);
  }
  return sum;
}

/** ggml_vec_dot_iq4_xs_q8_K, AVX2: lane l sums (ls − 32)·level·q8 over elements 4l..4l+3 of each 32. */
export function dotIQ4_XS(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 136, q += 256) {
    const d = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (act.d[b] as number),
    );
    sumi.fill(0);
    for (let s = 0; s < 8; s++) {
      const ls = iq4xsScale(row, o, s) - 32;
      for (let l = 0; l < 8; l++) {
        sumi[l] = (sumi[l] as number) + ls * iq4Lane(row, o + 8 + 16 * s, act.qs, q + 32 * s, l);
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return hsumLanes(acc);
}

/**
 * The integer part of ggml_vec_dot_q{2,3}_K_q8_K, AVX2, for one super-block: lane l of `sumi` sums
 * scale·q·q8 over elements 4l..4l+3 of each 32, where element 128h + 32j + e (e < 32) has the
 * 2-bit quant at bits 2j of byte `qs + 32h + e`, minus 4 unless bit 4h + j of byte `hmask + e` is
 * set (Q3_K; `hmask` < 0 for Q2_K), and the scale `scale(8h + 2j + (e ≥ 16))`.
 */
export function lowBitSums(
  row: Uint8Array,
  qs: number,
  hmask: number,
  scale: Int32Array,
  q8: Int8Array,
  q: number,
  sumi: Int32Array,
): void {
  sumi.fill(0);
  for (let h = 0; h < 2; h++) {
    for (let j = 0; j < 4; j++) {
      const bit = 4 * h + j;
      const a0 = q + 128 * h + 32 * j;
      for (let l = 0; l < 8; l++) {
        let partial = 0;
        for (let e = 4 * l; e < 4 * l + 4; e++) {
          let v = ((row[qs + 32 * h + e] as number) >> (2 * j)) & 3;
          if (hmask >= 0 && (((row[hmask + e] as number) >> bit) & 1) === 0) v -= 4;
          partial += v * (q8[a0 + e] as number);
        }
        sumi[l] = (sumi[l] as number) + (scale[8 * h + 2 * j + (l >> 2)] as number) * partial;
      }
    }
  }
}

export const subScales = new Int32Array(16);

/**
 * ggml_vec_dot_q2_K_q8_K, AVX2: per block, each lane first takes `fma(dmin, m·bsum pairs)` (lane l:
 * sub-blocks 2l and 2l + 1), then `fma(d, Σ sc·q2·q8)`.
 */
export function dotQ2_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 84, q += 256) {
    const yd = act.d[b] as number;
    const d = fround(
      yd * (table[(row[o + 80] as number) | ((row[o + 81] as number) << 8)] as number),
    );
    const dmin = -fround(
      yd * (table[(row[o + 82] as number) | ((row[o + 83] as number) << 8)] as number),
    );
    const bs = 16 * b;
    for (let l = 0; l < 8; l++) {
      const prod =
        ((row[o + 2 * l] as number) >> 4) * (bsums[bs + 2 * l] as number) +
        ((row[o + 2 * l + 1] as number) >> 4) * (bsums[bs + 2 * l + 1] as number);
      acc[l] = fmaF32(dmin, prod, acc[l] as number);
    }
    for (let j = 0; j < 16; j++) subScales[j] = (row[o + j] as number) & 15;
    lowBitSums(row, o + 16, -1, subScales, act.qs, q, sumi);
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return hsumLanes(acc);
}

/** ggml_vec_dot_q3_K_q8_K, AVX2: per block, each lane takes `fma(d, Σ (sc − 32)·q3·q8)`. */
export function dotQ3_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 110, q += 256) {
    const yd = act.d[b] as number;
    const d = fround(
      yd * (table[(row[o + 108] as number) | ((row[o + 109] as number) << 8)] as number),
    );
    for (let j = 0; j < 16; j++) subScales[j] = q3Scale(row, o + 96, j) - 32;
    lowBitSums(row, o + 32, o, subScales, act.qs, q, sumi);
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return hsumLanes(acc);
}

/**
 * ggml_vec_dot_q5_K_q8_K, AVX2: lane l sums sc·q5·q8 over elements 4l..4l+3 of each 32 (q5 the
 * nibble plus 16 for its `qh` bit); the mins go to one binary32 sum, `fma(dmin, Σ m·bsum-pair)`
 * per block, added after the lanes.
 */
export function dotQ5_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  let summs = 0;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 176, q += 256) {
    const yd = ds[b] as number;
    const d = fround(yd * (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number));
    const dmin = -fround(
      yd * (table[(row[o + 2] as number) | ((row[o + 3] as number) << 8)] as number),
    );
    const bs = 16 * b;
    let minSum = 0;
    for (let k = 0; k < 8; k++) {
      const pair = (bsums[bs + 2 * k] as number) + (bsums[bs + 2 * k + 1] as number);
      minSum += (scaleMin(row, o + 4, k) >> 8) * pair;
    }
    summs = fmaF32(dmin, minSum, summs);
    sumi.fill(0);
    for (let j = 0; j < 4; j++) {
      const scLo = scaleMin(row, o + 4, 2 * j) & 0xff;
      const scHi = scaleMin(row, o + 4, 2 * j + 1) & 0xff;
      const w0 = o + 48 + 32 * j;
      const a0 = q + 64 * j;
      for (let l = 0; l < 8; l++) {
        let lo = 0;
        let hi = 0;
        for (let e = 4 * l; e < 4 * l + 4; e++) {
          const nibbles = row[w0 + e] as number;
          const high = (row[o + 16 + e] as number) >> (2 * j);
          lo += ((nibbles & 15) | ((high & 1) << 4)) * (qs[a0 + e] as number);
          hi += ((nibbles >> 4) | ((high & 2) << 3)) * (qs[a0 + 32 + e] as number);
        }
        sumi[l] = (sumi[l] as number) + scLo * lo + scHi * hi;
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, sumi[l] as number, acc[l] as number);
  }
  return fround(hsumLanes(acc) + summs);
}

/**
 * ggml_vec_dot_q6_K_q8_K, AVX2: lane l sums scale·q6·q8 (q6 unsigned 0..63) over elements
 * 4l..4l+3 of each 32, minus 32·(bsums[2l]·sc[2l] + bsums[2l+1]·sc[2l+1]); converted to binary32
 * (rounding above 2^24) before the FMA.
 */
export function dotQ6_K(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const bsums = act.bsums;
  const acc = lanes.fill(0);
  const sumi = laneSums;
  const nb = act.n >> 8;
  for (let b = 0, o = rowOffset, q = 0; b < nb; b++, o += 210, q += 256) {
    const d = fround(
      (ds[b] as number) *
        (table[(row[o + 208] as number) | ((row[o + 209] as number) << 8)] as number),
    );
    const sc = o + 192;
    const bs = 16 * b;
    for (let l = 0; l < 8; l++) {
      sumi[l] =
        -32 *
        ((bsums[bs + 2 * l] as number) * (((row[sc + 2 * l] as number) << 24) >> 24) +
          (bsums[bs + 2 * l + 1] as number) * (((row[sc + 2 * l + 1] as number) << 24) >> 24));
    }
    for (let half = 0; half < 2; half++) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const qa = q + 128 * half;
      for (let l = 0; l < 8; l++) {
        // Sub-block of 16: chunk c = 4·half + k, lanes 0-3 take scale 2c, lanes 4-7 scale 2c + 1.
        const scl = sc + 8 * half + (l >> 2);
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let e = 4 * l, end = e + 4; e < end; e++) {
          const lo = row[ql + e] as number;
          const hi = row[ql + e + 32] as number;
          const h = row[qh + e] as number;
          s0 += ((lo & 15) | ((h & 3) << 4)) * (qs[qa + e] as number);
          s1 += ((hi & 15) | (((h >> 2) & 3) << 4)) * (qs[qa + e + 32] as number);
          s2 += ((lo >> 4) | (((h >> 4) & 3) << 4)) * (qs[qa + e + 64] as number);
          s3 += ((hi >> 4) | (((h >> 6) & 3) << 4)) * (qs[qa + e + 96] as number);
        }
        sumi[l] =
          (sumi[l] as number) +
          (((row[scl] as number) << 24) >> 24) * s0 +
          (((row[scl + 2] as number) << 24) >> 24) * s1 +
          (((row[scl + 4] as number) << 24) >> 24) * s2 +
          (((row[scl + 6] as number) << 24) >> 24) * s3;
      }
    }
    for (let l = 0; l < 8; l++) acc[l] = fmaF32(d, fround(sumi[l] as number), acc[l] as number);
  }
  return hsumLanes(acc);
}
