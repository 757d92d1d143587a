// Q5_K weights widened to int8 at load (src/pack.ts) against Q8_K activations, as Q6_K's are
// (assembly/matmul-q6k.ts): the 5-bit quants (0..31, nibble and high bit) become int8 in four-row
// groups, so one kernel widens a 32-column sub-block of four rows and dots it with the activation
// in i16, instead of unpacking nibbles and bits row by row (6.5 GMAC/s). Per group and 256-column
// super-block, 1120 bytes:
//
//   0     8 sub-blocks of 32 columns, each the four rows' 32 int8 quants (128 bytes)
//   1024  8 × 4 int8 scales: sub-block s, rows 0–3
//   1056  8 × 4 int8 mins, the same way
//   1088  the four rows' f32 `d`, then at 1104 their f32 `dmin`
//
// As ggml's vec_dot_q5_K_q8_K, each super-block's Σ_s sc[s] · Σ q · a and Σ_s m[s] · bsum[s] are
// exact i32 (|Σ| ≤ 8 · 32 · 31 · 127 · 63 < 2³¹), then scaled by d · d_a and dmin · d_a in f32.

import { dot32x4, storeRows4, touch138 } from './matmul-q6k';

/** Bytes of one four-row group's super-block. */
export const Q5K_GROUP_BLOCK: usize = 1120;

/**
 * Sub-block `c` of the group super-block at `gb` against the widened activation: the four rows'
 * `sc · Σ q · a` (i32 lanes), minus nothing (the mins are summed apart).
 */
@inline
function sub(gb: usize, c: i32, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s = dot32x4(gb + (<usize>c << 7), a0, a1, a2, a3);
  const sc = i32x4.extend_low_i16x8_s(v128.load8x8_s(gb + 1024 + (<usize>c << 2)));
  return i32x4.mul(s, sc);
}

/** Σ_s m[s] · bsum[s] for the four rows of the group super-block at `gb` (bsums at `bs`). */
@inline
function mins(gb: usize, bs: usize): v128 {
  let acc = i32x4.splat(0);
  for (let c = 0; c < 8; c++) {
    const b = <i32>load<i16>(bs + (<usize>c << 2)) + <i32>load<i16>(bs + (<usize>c << 2), 2);
    const m = i32x4.extend_low_i16x8_s(v128.load8x8_s(gb + 1056 + (<usize>c << 2)));
    acc = i32x4.add(acc, i32x4.mul(m, i32x4.splat(b)));
  }
  return acc;
}

/** One super-block's `d · Σ − dmin · mins` for four rows, in f32 lanes. */
@inline
function finish(gb: usize, isum: v128, msum: v128, da: f32): v128 {
  const ds = f32x4.splat(da);
  return f32x4.sub(
    f32x4.mul(f32x4.convert_i32x4_s(isum), f32x4.mul(v128.load(gb, 1088), ds)),
    f32x4.mul(f32x4.convert_i32x4_s(msum), f32x4.mul(v128.load(gb, 1104), ds)),
  );
}

/**
 * `out[t·outStride + r] (+)= Σ_c W[r, c] · act[t, c]` for rows `[r0, r1)` (`r0` a multiple of 4)
 * of a `rows`-row Q5_K weight packed in four-row groups, against `T` Q8_K activation rows.
 */
export function matmulQ5_K(
  w: usize,
  rows: i32,
  r0: i32,
  r1: i32,
  cols: i32,
  act: usize,
  actRowBytes: i32,
  T: i32,
  out: usize,
  outStride: i32,
  accumulate: bool,
): void {
  const nb = cols >> 8;
  const groupBytes = <usize>nb * Q5K_GROUP_BLOCK;
  let sink: u32 = 0;
  let rStart = r0;
  if (T == 1) {
    // One token (a decode): four groups far apart at once, the activation widened once.
    const q = ((r1 - r0 + 3) >> 2) >> 2;
    const gs = <usize>q * groupBytes;
    const ad = act + <usize>cols;
    const abs = ad + (<usize>nb << 2);
    for (let i = 0; i < q; i++) {
      const ra = r0 + (i << 2);
      const g = w + <usize>(ra >> 2) * groupBytes;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let acc2 = f32x4.splat(0);
      let acc3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const gb = g + <usize>b * Q5K_GROUP_BLOCK;
        const qa = act + (<usize>b << 8);
        let i0 = i32x4.splat(0);
        let i1 = i32x4.splat(0);
        let i2 = i32x4.splat(0);
        let i3 = i32x4.splat(0);
        for (let c = 0; c < 8; c++) {
          sink ^= touch138(gb + <usize>c * 140) ^ touch138(gb + gs + <usize>c * 140);
          sink ^= touch138(gb + 2 * gs + <usize>c * 140) ^ touch138(gb + 3 * gs + <usize>c * 140);
          const ab = qa + (<usize>c << 5);
          const x0 = v128.load(ab);
          const x1 = v128.load(ab, 16);
          const a0 = i16x8.extend_low_i8x16_s(x0);
          const a1 = i16x8.extend_high_i8x16_s(x0);
          const a2 = i16x8.extend_low_i8x16_s(x1);
          const a3 = i16x8.extend_high_i8x16_s(x1);
          i0 = i32x4.add(i0, sub(gb, c, a0, a1, a2, a3));
          i1 = i32x4.add(i1, sub(gb + gs, c, a0, a1, a2, a3));
          i2 = i32x4.add(i2, sub(gb + 2 * gs, c, a0, a1, a2, a3));
          i3 = i32x4.add(i3, sub(gb + 3 * gs, c, a0, a1, a2, a3));
        }
        const da = load<f32>(ad + (<usize>b << 2));
        const bs = abs + (<usize>b << 5);
        acc0 = f32x4.add(acc0, finish(gb, i0, mins(gb, bs), da));
        acc1 = f32x4.add(acc1, finish(gb + gs, i1, mins(gb + gs, bs), da));
        acc2 = f32x4.add(acc2, finish(gb + 2 * gs, i2, mins(gb + 2 * gs, bs), da));
        acc3 = f32x4.add(acc3, finish(gb + 3 * gs, i3, mins(gb + 3 * gs, bs), da));
      }
      const rs = q << 2;
      storeRows4(out + (<usize>ra << 2), acc0, ra, rows, accumulate);
      storeRows4(out + (<usize>(ra + rs) << 2), acc1, ra + rs, rows, accumulate);
      storeRows4(out + (<usize>(ra + 2 * rs) << 2), acc2, ra + 2 * rs, rows, accumulate);
      storeRows4(out + (<usize>(ra + 3 * rs) << 2), acc3, ra + 3 * rs, rows, accumulate);
    }
    rStart = r0 + (q << 4);
  }
  for (let r = rStart; r < r1; r += 4) {
    const g = w + <usize>(r >> 2) * groupBytes;
    for (let t = 0; t < T; t++) {
      const a = act + <usize>t * <usize>actRowBytes;
      const ad = a + <usize>cols;
      const abs = ad + (<usize>nb << 2);
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const gb = g + <usize>b * Q5K_GROUP_BLOCK;
        const qa = a + (<usize>b << 8);
        let isum = i32x4.splat(0);
        for (let c = 0; c < 8; c++) {
          sink ^= touch138(gb + <usize>c * 140);
          const ab = qa + (<usize>c << 5);
          const x0 = v128.load(ab);
          const x1 = v128.load(ab, 16);
          isum = i32x4.add(
            isum,
            sub(gb, c, i16x8.extend_low_i8x16_s(x0), i16x8.extend_high_i8x16_s(x0), i16x8.extend_low_i8x16_s(x1), i16x8.extend_high_i8x16_s(x1)),
          );
        }
        acc = f32x4.add(acc, finish(gb, isum, mins(gb, abs + (<usize>b << 5)), load<f32>(ad + (<usize>b << 2))));
      }
      storeRows4(out + ((<usize>t * <usize>outStride + <usize>r) << 2), acc, r, rows, accumulate);
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}
