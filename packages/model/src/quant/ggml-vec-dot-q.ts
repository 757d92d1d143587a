import { fmaF32, hsumLanes, int8ViewOf, lanes, scalesFor } from './ggml-f32.js';
import { f16Table32 } from './half.js';
import type { PreparedActivations } from './prepared-activations.js';
import { quant1 } from './q_1.js';
import { q5_0Quant } from './q5_0.js';

const { fround } = Math;

// ---------------------------------------------------------------------------------------------
// vec_dot kernels.

/** Σ w8[w+e]·qs[a+e] for e = 0..3: one lane's share of a block (int8 × int8). */
export function dot4(w8: Int8Array, w: number, qs: Int8Array, a: number): number {
  return (
    (w8[w] as number) * (qs[a] as number) +
    (w8[w + 1] as number) * (qs[a + 1] as number) +
    (w8[w + 2] as number) * (qs[a + 2] as number) +
    (w8[w + 3] as number) * (qs[a + 3] as number)
  );
}

/** ggml_vec_dot_q8_0_q8_0, AVX2. Lanes are independent, so each is run over all blocks in turn. */
export function dotQ8_0(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const w8 = int8ViewOf(row.buffer);
  const qs = act.qs;
  const ds = act.d;
  const nb = act.n >> 5;
  const scales = scalesFor(nb);
  for (let b = 0, o = rowOffset; b < nb; b++, o += 34) {
    scales[b] = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (ds[b] as number),
    );
  }
  const acc = lanes;
  for (let l = 0; l < 8; l++) {
    let a = 0;
    for (
      let b = 0, w = row.byteOffset + rowOffset + 2 + 4 * l, q = 4 * l;
      b < nb;
      b++, w += 34, q += 32
    ) {
      a = fmaF32(scales[b] as number, dot4(w8, w, qs, q), a);
    }
    acc[l] = a;
  }
  return hsumLanes(acc);
}

/** Σ ((row[w+e] & 15) − 8)·qs[a+e] for e = 0..3: low nibbles. */
export function dot4Lo(row: Uint8Array, w: number, qs: Int8Array, a: number): number {
  return (
    (((row[w] as number) & 15) - 8) * (qs[a] as number) +
    (((row[w + 1] as number) & 15) - 8) * (qs[a + 1] as number) +
    (((row[w + 2] as number) & 15) - 8) * (qs[a + 2] as number) +
    (((row[w + 3] as number) & 15) - 8) * (qs[a + 3] as number)
  );
}

/** Σ ((row[w+e] >> 4) − 8)·qs[a+e] for e = 0..3: high nibbles. */
export function dot4Hi(row: Uint8Array, w: number, qs: Int8Array, a: number): number {
  return (
    (((row[w] as number) >> 4) - 8) * (qs[a] as number) +
    (((row[w + 1] as number) >> 4) - 8) * (qs[a + 1] as number) +
    (((row[w + 2] as number) >> 4) - 8) * (qs[a + 2] as number) +
    (((row[w + 3] as number) >> 4) - 8) * (qs[a + 3] as number)
  );
}

/** ggml_vec_dot_q4_0_q8_0, AVX2: lanes 0-3 hold the low nibbles, lanes 4-7 the high ones. */
export function dotQ4_0(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const ds = act.d;
  const nb = act.n >> 5;
  const scales = scalesFor(nb);
  for (let b = 0, o = rowOffset; b < nb; b++, o += 18) {
    scales[b] = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (ds[b] as number),
    );
  }
  const acc = lanes;
  for (let l = 0; l < 4; l++) {
    let a = 0;
    for (let b = 0, w = rowOffset + 2 + 4 * l, q = 4 * l; b < nb; b++, w += 18, q += 32) {
      a = fmaF32(scales[b] as number, dot4Lo(row, w, qs, q), a);
    }
    acc[l] = a;
  }
  for (let l = 0; l < 4; l++) {
    let a = 0;
    for (let b = 0, w = rowOffset + 2 + 4 * l, q = 16 + 4 * l; b < nb; b++, w += 18, q += 32) {
      a = fmaF32(scales[b] as number, dot4Hi(row, w, qs, q), a);
    }
    acc[l + 4] = a;
  }
  return hsumLanes(acc);
}

/**
 * ggml_vec_dot_q5_0_q8_0, AVX2: lane l sums (q − 16)·q8 over elements 4l..4l+3 of each block, then
 * `fma(d, ·)` into its accumulator, block by block.
 */
export function dotQ5_0(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const qs = act.qs;
  const nb = act.n >> 5;
  const scales = scalesFor(nb);
  for (let b = 0, o = rowOffset; b < nb; b++, o += 22) {
    scales[b] = fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (act.d[b] as number),
    );
  }
  const acc = lanes;
  for (let l = 0; l < 8; l++) {
    let a = 0;
    for (let b = 0, o = rowOffset; b < nb; b++, o += 22) {
      let sum = 0;
      for (let e = 4 * l; e < 4 * l + 4; e++) {
        sum += (q5_0Quant(row, o, e) - 16) * (qs[32 * b + e] as number);
      }
      a = fmaF32(scales[b] as number, sum, a);
    }
    acc[l] = a;
  }
  return hsumLanes(acc);
}

/**
 * ggml_vec_dot_q{4,5}_1_q8_1, AVX2: lane l sums q·q8 over elements 4l..4l+3 of each block (q
 * unsigned), then `fma(d·d8, ·)` into its accumulator; the minima go to one binary32 sum,
 * `fma(m, s8)` per block, added after the lanes.
 */
export function dotQ_1(
  row: Uint8Array,
  rowOffset: number,
  act: PreparedActivations,
  bits: 4 | 5,
): number {
  const table = f16Table32();
  const qs = act.qs;
  const nb = act.n >> 5;
  const blockBytes = bits === 4 ? 20 : 24;
  const acc = lanes.fill(0);
  let summs = 0;
  for (let b = 0, o = rowOffset; b < nb; b++, o += blockBytes) {
    const d = table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number;
    const m = table[(row[o + 2] as number) | ((row[o + 3] as number) << 8)] as number;
    summs = fmaF32(m, act.s[b] as number, summs);
    const scale = fround(d * (act.d[b] as number));
    for (let l = 0; l < 8; l++) {
      let sum = 0;
      for (let e = 4 * l; e < 4 * l + 4; e++) {
        sum += quant1(row, o, e, bits) * (qs[32 * b + e] as number);
      }
      acc[l] = fmaF32(scale, sum, acc[l] as number);
    }
  }
  return fround(hsumLanes(acc) + summs);
}
