// Q6_K and Q5_K weights widened to int8 at load (src/pack.ts) against Q8_K activations. Their 6- and
// 5-bit quants become int8 in four-row groups laid out as Q8_0's (assembly/matmul-q8.ts), so one
// kernel widens a 32-column chunk of four rows and dots it with the activation in i16, instead of
// unpacking nibbles and high bits row by row (3.6 and 6.5 GMAC/s). Per group and 256-column
// super-block:
//
//   Q6_K, 1104 bytes:
//     0     8 chunks of 32 columns, each the four rows' 32 int8 quants `q − 32` (128 bytes)
//     1024  8 × 8 int8 sub-block scales: chunk c's two 16-column sub-blocks, rows 0–3 of
//           sub-block 2c then rows 0–3 of 2c + 1
//     1088  the four rows' f32 `d`
//   Q5_K, 1120 bytes:
//     0     8 sub-blocks of 32 columns, each the four rows' 32 int8 quants (0..31; 128 bytes)
//     1024  8 × 4 int8 scales: sub-block s, rows 0–3
//     1056  8 × 4 int8 mins, the same way
//     1088  the four rows' f32 `d`, then at 1104 their f32 `dmin`
//
// As ggml's vec_dot_q6_K_q8_K and vec_dot_q5_K_q8_K, each super-block's Σ_s sc[s] · Σ q · a (and
// Q5_K's Σ_s m[s] · bsum[s]) is an exact i32 (Q6_K: |Σ| ≤ 16 · 32 · 127 · 128 · 16 < 2³¹), then
// scaled by d · d_a (and dmin · d_a) in f32. One kernel serves both: `Q6` is a constant at each
// exported call, so the kind's branches fold away.

import { reduce4, storeRows, touch3 } from './common';

const Q6: bool = true;
const Q5: bool = false;

/** Bytes of one four-row group's super-block. */
@inline
function groupBlock(q6: bool): usize {
  return q6 ? 1104 : 1120;
}

/** One row's 16 quants at `w` against a widened 16-value activation half: four i32 partial sums. */
@inline
function dot16(w: usize, a0: v128, a1: v128): v128 {
  const q = v128.load(w);
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q), a0),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q), a1),
  );
}

/** Touches the lines of chunk `c` (an eighth of the super-block at `gb`), `TOUCH_AHEAD` on. */
@inline
function touchChunk(q6: bool, gb: usize, c: i32): u32 {
  // 1104 / 8 = 138 and 1120 / 8 = 140 bytes: loads 60 apart cover every line of them.
  return touch3(gb + <usize>c * (groupBlock(q6) >> 3), 60);
}

/**
 * The four rows' exact i32 sums over chunk `c` (32 columns) of the group super-block at `gb`, each
 * sub-block's sum times its scale, against the widened activation `a0`..`a3`.
 */
@inline
function chunk(q6: bool, gb: usize, c: i32, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const wq = gb + (<usize>c << 7);
  if (q6) {
    // Two 16-column sub-blocks, each with its own scale.
    const even = reduce4(dot16(wq, a0, a1), dot16(wq + 32, a0, a1), dot16(wq + 64, a0, a1), dot16(wq + 96, a0, a1));
    const odd = reduce4(dot16(wq + 16, a2, a3), dot16(wq + 48, a2, a3), dot16(wq + 80, a2, a3), dot16(wq + 112, a2, a3));
    const sc = v128.load8x8_s(gb + 1024 + (<usize>c << 3));
    return i32x4.add(i32x4.mul(even, i32x4.extend_low_i16x8_s(sc)), i32x4.mul(odd, i32x4.extend_high_i16x8_s(sc)));
  }
  const s = reduce4(
    i32x4.add(dot16(wq, a0, a1), dot16(wq + 16, a2, a3)),
    i32x4.add(dot16(wq + 32, a0, a1), dot16(wq + 48, a2, a3)),
    i32x4.add(dot16(wq + 64, a0, a1), dot16(wq + 80, a2, a3)),
    i32x4.add(dot16(wq + 96, a0, a1), dot16(wq + 112, a2, a3)),
  );
  return i32x4.mul(s, i32x4.extend_low_i16x8_s(v128.load8x8_s(gb + 1024 + (<usize>c << 2))));
}

/** Q5_K: Σ_s m[s] · bsum[s] for the four rows of the group super-block at `gb` (bsums at `bs`). */
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

/**
 * One super-block's contribution for four rows in f32 lanes: `d · d_a · Σ`, less Q5_K's
 * `dmin · d_a · mins` (its bsums at `bs`).
 */
@inline
function finish(q6: bool, gb: usize, isum: v128, bs: usize, da: f32): v128 {
  const ds = f32x4.splat(da);
  const sum = f32x4.mul(f32x4.convert_i32x4_s(isum), f32x4.mul(v128.load(gb, 1088), ds));
  if (q6) return sum;
  return f32x4.sub(sum, f32x4.mul(f32x4.convert_i32x4_s(mins(gb, bs)), f32x4.mul(v128.load(gb, 1104), ds)));
}

/**
 * `out[t·outStride + r] (+)= Σ_c W[r, c] · act[t, c]` for rows `[r0, r1)` (`r0` a multiple of 4)
 * of a `rows`-row weight of the kind `q6` names, packed in four-row groups, against `T` Q8_K
 * activation rows. A decode walks four groups far apart at once (matmul-q8.ts walks eight; these
 * blocks take more registers), the activation widened once for them.
 */
@inline
function matmulGroups(
  q6: bool,
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
  const block = groupBlock(q6);
  const groupBytes = <usize>nb * block;
  let sink: u32 = 0;
  let rStart = r0;
  if (T == 1) {
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
        const gb = g + <usize>b * block;
        const qa = act + (<usize>b << 8);
        let i0 = i32x4.splat(0);
        let i1 = i32x4.splat(0);
        let i2 = i32x4.splat(0);
        let i3 = i32x4.splat(0);
        for (let c = 0; c < 8; c++) {
          sink ^= touchChunk(q6, gb, c) ^ touchChunk(q6, gb + gs, c);
          sink ^= touchChunk(q6, gb + 2 * gs, c) ^ touchChunk(q6, gb + 3 * gs, c);
          const ab = qa + (<usize>c << 5);
          const x0 = v128.load(ab);
          const x1 = v128.load(ab, 16);
          const a0 = i16x8.extend_low_i8x16_s(x0);
          const a1 = i16x8.extend_high_i8x16_s(x0);
          const a2 = i16x8.extend_low_i8x16_s(x1);
          const a3 = i16x8.extend_high_i8x16_s(x1);
          i0 = i32x4.add(i0, chunk(q6, gb, c, a0, a1, a2, a3));
          i1 = i32x4.add(i1, chunk(q6, gb + gs, c, a0, a1, a2, a3));
          i2 = i32x4.add(i2, chunk(q6, gb + 2 * gs, c, a0, a1, a2, a3));
          i3 = i32x4.add(i3, chunk(q6, gb + 3 * gs, c, a0, a1, a2, a3));
        }
        const da = load<f32>(ad + (<usize>b << 2));
        const bs = abs + (<usize>b << 5);
        acc0 = f32x4.add(acc0, finish(q6, gb, i0, bs, da));
        acc1 = f32x4.add(acc1, finish(q6, gb + gs, i1, bs, da));
        acc2 = f32x4.add(acc2, finish(q6, gb + 2 * gs, i2, bs, da));
        acc3 = f32x4.add(acc3, finish(q6, gb + 3 * gs, i3, bs, da));
      }
      const rs = q << 2;
      storeRows(out + (<usize>ra << 2), acc0, ra, rows, accumulate);
      storeRows(out + (<usize>(ra + rs) << 2), acc1, ra + rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 2 * rs) << 2), acc2, ra + 2 * rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 3 * rs) << 2), acc3, ra + 3 * rs, rows, accumulate);
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
        const gb = g + <usize>b * block;
        const qa = a + (<usize>b << 8);
        let isum = i32x4.splat(0);
        for (let c = 0; c < 8; c++) {
          sink ^= touchChunk(q6, gb, c);
          const ab = qa + (<usize>c << 5);
          const x0 = v128.load(ab);
          const x1 = v128.load(ab, 16);
          const a0 = i16x8.extend_low_i8x16_s(x0);
          const a1 = i16x8.extend_high_i8x16_s(x0);
          const a2 = i16x8.extend_low_i8x16_s(x1);
          const a3 = i16x8.extend_high_i8x16_s(x1);
          isum = i32x4.add(isum, chunk(q6, gb, c, a0, a1, a2, a3));
        }
        acc = f32x4.add(acc, finish(q6, gb, isum, abs + (<usize>b << 5), load<f32>(ad + (<usize>b << 2))));
      }
      storeRows(out + ((<usize>t * <usize>outStride + <usize>r) << 2), acc, r, rows, accumulate);
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}

/** {@link matmulGroups} for Q6_K's int8 groups. */
export function matmulQ6_K(
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
  matmulGroups(Q6, w, rows, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
}

/** {@link matmulGroups} for Q5_K's int8 groups. */
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
  matmulGroups(Q5, w, rows, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
}
