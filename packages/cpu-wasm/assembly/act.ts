// Activation rows converted to a weight type's vec_dot_type, as ggml-cpu's from_float does on
// x86 AVX2 (see @x/model's quant/ggml-from-float.ts, the oracle). Each prepared row is
// `actRowBytes(type, n)` bytes:
//
//   Q8_0: n int8 quants, then n/32 f32 scales (f16-rounded, as ggml stores them)
//   Q8_1: as Q8_0, then n/32 f32 `s` = f16(d · Σq)
//   Q8_K: n int8 quants, then n/256 f32 scales, then n/16 i16 sums of 16 quants
//   F32, F16, BF16: n f32 values (rounded to f16 / bf16 precision for those)

import { roundBf16, roundF16 } from './common';

export const ACT_F32: i32 = 0;
export const ACT_F16: i32 = 1;
export const ACT_BF16: i32 = 30;
export const ACT_Q8_0: i32 = 8;
export const ACT_Q8_1: i32 = 9;
export const ACT_Q8_K: i32 = 15;

/** The AVX2 quantize_row_q8_0 (and q8_1's sums) over `nb` blocks of 32 from `x` into a row. */
function quantizeQ8_0(x: usize, n: i32, row: usize, b0: i32, b1: i32, withSums: bool): void {
  const nb = n >> 5;
  const ds = row + <usize>n;
  const ss = ds + (<usize>nb << 2);
  const absMask = i32x4.splat(0x7fffffff);
  for (let b = b0; b < b1; b++) {
    const xb = x + (<usize>b << 7);
    const v0 = v128.load(xb);
    const v1 = v128.load(xb, 16);
    const v2 = v128.load(xb, 32);
    const v3 = v128.load(xb, 48);
    const v4 = v128.load(xb, 64);
    const v5 = v128.load(xb, 80);
    const v6 = v128.load(xb, 96);
    const v7 = v128.load(xb, 112);
    // max |x| as the AVX2 tree takes it (lane-wise max, then 8 → 1); order does not change a max
    // of finite values.
    let m = f32x4.max(
      f32x4.max(f32x4.max(v128.and(v0, absMask), v128.and(v1, absMask)), f32x4.max(v128.and(v2, absMask), v128.and(v3, absMask))),
      f32x4.max(f32x4.max(v128.and(v4, absMask), v128.and(v5, absMask)), f32x4.max(v128.and(v6, absMask), v128.and(v7, absMask))),
    );
    const amax = max<f32>(
      max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
      max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)),
    );
    const d: f32 = amax / 127;
    store<f32>(ds + (<usize>b << 2), roundF16(d));
    const id = f32x4.splat(amax != 0 ? <f32>127 / amax : 0);
    // Round half to even (f32x4.nearest), then saturate to int8 as cvtps2dq + packs do.
    const q0 = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, id))), i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, id))));
    const q1 = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, id))), i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, id))));
    const q2 = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v4, id))), i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v5, id))));
    const q3 = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v6, id))), i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v7, id))));
    const qa = i8x16.narrow_i16x8_s(q0, q1);
    const qb = i8x16.narrow_i16x8_s(q2, q3);
    const qrow = row + (<usize>b << 5);
    v128.store(qrow, qa);
    v128.store(qrow, qb, 16);
    if (withSums) {
      const s16 = i16x8.add(i16x8.extadd_pairwise_i8x16_s(qa), i16x8.extadd_pairwise_i8x16_s(qb));
      const sum = i32x4.extadd_pairwise_i16x8_s(s16);
      const total =
        i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
      store<f32>(ss + (<usize>b << 2), roundF16(d * <f32>total));
    }
  }
}

/** ggml's nearest_int: round half to even through the 1.5·2²³ bit trick. */
@inline
function nearestInt(f: f32): i32 {
  return (reinterpret<i32>(f + 12582912.0) & 0x007fffff) - 0x00400000;
}

/** quantize_row_q8_K_ref over `n/256` super-blocks from `x` into a row. */
function quantizeQ8_K(x: usize, n: i32, row: usize, b0: i32, b1: i32): void {
  const nb = n >> 8;
  const ds = row + <usize>n;
  const bs = ds + (<usize>nb << 2);
  for (let b = b0; b < b1; b++) {
    const xb = x + (<usize>b << 10);
    const qb = row + (<usize>b << 8);
    let amax: f32 = 0;
    let mx: f32 = 0;
    for (let j = 0; j < 256; j++) {
      const v = load<f32>(xb + (<usize>j << 2));
      const ax = abs<f32>(v);
      if (ax > amax) {
        amax = ax;
        mx = v;
      }
    }
    const sums = bs + (<usize>b << 5);
    if (amax == 0) {
      store<f32>(ds + (<usize>b << 2), 0);
      memory.fill(qb, 0, 256);
      memory.fill(sums, 0, 32);
      continue;
    }
    const iscale: f32 = <f32>-127.0 / mx;
    for (let j = 0; j < 256; j++) {
      const q = nearestInt(iscale * load<f32>(xb + (<usize>j << 2)));
      store<i8>(qb + <usize>j, <i8>min<i32>(q, 127));
    }
    for (let j = 0; j < 16; j++) {
      const v = v128.load(qb + (<usize>j << 4));
      const s = i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v));
      store<i16>(sums + (<usize>j << 1), <i16>(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)));
    }
    store<f32>(ds + (<usize>b << 2), <f32>1.0 / iscale);
  }
}

/** Bytes of one prepared row of `n` values of activation type `type`, padded to 16. */
export function actRowBytes(type: i32, n: i32): i32 {
  let bytes: i32;
  if (type == ACT_Q8_0) bytes = n + (n >> 5) * 4;
  else if (type == ACT_Q8_1) bytes = n + (n >> 5) * 8;
  else if (type == ACT_Q8_K) bytes = n + (n >> 8) * 4 + (n >> 4) * 2;
  else bytes = n * 4;
  return (bytes + 15) & ~15;
}

/** Elements per block of activation type `type` (what a column range must be aligned to). */
export function actBlock(type: i32): i32 {
  if (type == ACT_Q8_0 || type == ACT_Q8_1) return 32;
  if (type == ACT_Q8_K) return 256;
  return 1;
}

/**
 * Prepares values `[c0, c1)` of the `n`-value f32 row at `x` as activation type `type` into the
 * prepared row `row` (laid out for all `n`): the quants and scales a weight type's kernel reads.
 * `c0` and `c1` are multiples of `actBlock(type)` (or `c1 == n`).
 */
export function prepareRange(type: i32, x: usize, n: i32, c0: i32, c1: i32, row: usize): void {
  if (type == ACT_Q8_0 || type == ACT_Q8_1) quantizeQ8_0(x, n, row, c0 >> 5, c1 >> 5, type == ACT_Q8_1);
  else if (type == ACT_Q8_K) quantizeQ8_K(x, n, row, c0 >> 8, c1 >> 8);
  else if (type == ACT_F16) {
    for (let i = c0; i < c1; i++) store<f32>(row + (<usize>i << 2), roundF16(load<f32>(x + (<usize>i << 2))));
  } else if (type == ACT_BF16) {
    for (let i = c0; i < c1; i++) store<f32>(row + (<usize>i << 2), roundBf16(load<f32>(x + (<usize>i << 2))));
  } else memory.copy(row + (<usize>c0 << 2), x + (<usize>c0 << 2), <usize>(c1 - c0) << 2);
}
