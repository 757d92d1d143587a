// Q8_0 weights against Q8_0 activations. Weights are repacked when they load: a row's int8
// quants contiguous (`cols` bytes a row, at `w`), and each block's f16 scale widened to f32 in a
// table of its own (`rows × cols/32` f32 at `aux`), so the inner loop is loads and integer dots.

import { hsum } from './common';

/** Σ over one 32-block of four weight rows' quants with one activation block, into four sums. */
@inline
function dot32(w: usize, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const w0 = v128.load(w);
  const w1 = v128.load(w, 16);
  return i32x4.add(
    i32x4.add(
      i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w0), a0),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w0), a1),
    ),
    i32x4.add(
      i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w1), a2),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w1), a3),
    ),
  );
}

@inline
function put(out: usize, v: f32, accumulate: bool): void {
  store<f32>(out, accumulate ? load<f32>(out) + v : v);
}

/**
 * `out[t·outStride + r] (+)= Σ_c W[r, c] · act[t, c]` for rows `[r0, r1)` and `T` tokens, four
 * weight rows at a time so each activation block is widened once per four rows.
 */
export function matmulQ8_0(
  w: usize,
  aux: usize,
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
  const nb = cols >> 5;
  const rs = <usize>cols;
  const ss = <usize>nb << 2;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const wr = w + <usize>r * rs;
    const sr = aux + <usize>r * ss;
    for (let t = 0; t < T; t++) {
      const a = act + <usize>t * <usize>actRowBytes;
      const ad = a + <usize>cols;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let acc2 = f32x4.splat(0);
      let acc3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const ab = a + (<usize>b << 5);
        const x0 = v128.load(ab);
        const x1 = v128.load(ab, 16);
        const a0 = i16x8.extend_low_i8x16_s(x0);
        const a1 = i16x8.extend_high_i8x16_s(x0);
        const a2 = i16x8.extend_low_i8x16_s(x1);
        const a3 = i16x8.extend_high_i8x16_s(x1);
        const da = load<f32>(ad + (<usize>b << 2));
        const wb = wr + (<usize>b << 5);
        const sb = sr + (<usize>b << 2);
        acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_s(dot32(wb, a0, a1, a2, a3)), f32x4.splat(load<f32>(sb) * da)));
        acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_s(dot32(wb + rs, a0, a1, a2, a3)), f32x4.splat(load<f32>(sb + ss) * da)));
        acc2 = f32x4.add(acc2, f32x4.mul(f32x4.convert_i32x4_s(dot32(wb + 2 * rs, a0, a1, a2, a3)), f32x4.splat(load<f32>(sb + 2 * ss) * da)));
        acc3 = f32x4.add(acc3, f32x4.mul(f32x4.convert_i32x4_s(dot32(wb + 3 * rs, a0, a1, a2, a3)), f32x4.splat(load<f32>(sb + 3 * ss) * da)));
      }
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      put(o, hsum(acc0), accumulate);
      put(o + 4, hsum(acc1), accumulate);
      put(o + 8, hsum(acc2), accumulate);
      put(o + 12, hsum(acc3), accumulate);
    }
  }
  for (; r < r1; r++) {
    const wr = w + <usize>r * rs;
    const sr = aux + <usize>r * ss;
    for (let t = 0; t < T; t++) {
      const a = act + <usize>t * <usize>actRowBytes;
      const ad = a + <usize>cols;
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const ab = a + (<usize>b << 5);
        const x0 = v128.load(ab);
        const x1 = v128.load(ab, 16);
        const s = dot32(
          wr + (<usize>b << 5),
          i16x8.extend_low_i8x16_s(x0),
          i16x8.extend_high_i8x16_s(x0),
          i16x8.extend_low_i8x16_s(x1),
          i16x8.extend_high_i8x16_s(x1),
        );
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(load<f32>(sr + (<usize>b << 2)) * load<f32>(ad + (<usize>b << 2)))));
      }
      put(out + ((<usize>t * <usize>outStride + <usize>r) << 2), hsum(acc), accumulate);
    }
  }
}
