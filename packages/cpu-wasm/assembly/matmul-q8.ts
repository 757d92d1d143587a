// Q8_0 weights against Q8_0 activations. Weights are repacked when they load (src/pack.ts) in
// groups of four rows: for each 32-element block, the four rows' int8 quants (4 × 32 bytes) and
// then their four scales widened to f32 (16 bytes), 144 bytes a group-block, so one sequential
// stream feeds each group and a block's four scales are one load. Rows are padded to a multiple
// of four with zero rows. A decode walks eight groups far apart at once (more loads in flight,
// one activation widening for 32 rows); a batch takes its tokens four, then two at a time.

import { reduce4, storeRows, touch3 } from './common';

/** Bytes of one four-row group's block. */
const GROUP_BLOCK: usize = 144;

/** Touches the three lines of the group-block 144 bytes long at `g`, `TOUCH_AHEAD` on. */
@inline
function touch(g: usize): u32 {
  return touch3(g, 48);
}

/** One row's 32 quants at `w` against the widened activation block: four i32 partial sums. */
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

/** The four rows' sums of one block against one token's activation block, scaled, added to `acc`. */
@inline
function blockPair(
  w00: v128, w01: v128, w02: v128, w03: v128,
  w10: v128, w11: v128, w12: v128, w13: v128,
  w20: v128, w21: v128, w22: v128, w23: v128,
  w30: v128, w31: v128, w32: v128, w33: v128,
  ab: usize,
  scale: v128,
  acc: v128,
): v128 {
  const x0 = v128.load(ab);
  const x1 = v128.load(ab, 16);
  const a0 = i16x8.extend_low_i8x16_s(x0);
  const a1 = i16x8.extend_high_i8x16_s(x0);
  const a2 = i16x8.extend_low_i8x16_s(x1);
  const a3 = i16x8.extend_high_i8x16_s(x1);
  const s0 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w00, a0), i32x4.dot_i16x8_s(w01, a1)), i32x4.add(i32x4.dot_i16x8_s(w02, a2), i32x4.dot_i16x8_s(w03, a3)));
  const s1 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w10, a0), i32x4.dot_i16x8_s(w11, a1)), i32x4.add(i32x4.dot_i16x8_s(w12, a2), i32x4.dot_i16x8_s(w13, a3)));
  const s2 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w20, a0), i32x4.dot_i16x8_s(w21, a1)), i32x4.add(i32x4.dot_i16x8_s(w22, a2), i32x4.dot_i16x8_s(w23, a3)));
  const s3 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w30, a0), i32x4.dot_i16x8_s(w31, a1)), i32x4.add(i32x4.dot_i16x8_s(w32, a2), i32x4.dot_i16x8_s(w33, a3)));
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(reduce4(s0, s1, s2, s3)), scale));
}

/** One group-block (four rows at `g`) against a widened activation block, scaled, into `acc`. */
@inline
function groupBlock(g: usize, a0: v128, a1: v128, a2: v128, a3: v128, da: v128, acc: v128): v128 {
  const sums = reduce4(
    dot32(g, a0, a1, a2, a3),
    dot32(g + 32, a0, a1, a2, a3),
    dot32(g + 64, a0, a1, a2, a3),
    dot32(g + 96, a0, a1, a2, a3),
  );
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(sums), f32x4.mul(v128.load(g, 128), da)));
}

/**
 * `out[t·outStride + r] (+)= Σ_c W[r, c] · act[t, c]` for rows `[r0, r1)` (`r0` a multiple of 4)
 * of a `rows`-row weight and `T` tokens. Each block's four row sums become one vector, scaled by
 * the four rows' scales times the activation's in one multiply.
 */
export function matmulQ8_0(
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
  const nb = cols >> 5;
  const groupBytes = <usize>nb * GROUP_BLOCK;
  let sink: u32 = 0;
  // One token (a decode): eight groups far apart at once, eight streams of weights in flight, the
  // activation block widened once for their 32 rows (four streams: 8.2 GMAC/s on the SmolLM-shaped
  // decode, one thread; eight: 8.8–9.3).
  let rStart = r0;
  if (T == 1) {
    const groups = (r1 - r0 + 3) >> 2;
    const q = groups >> 3;
    const ad = act + <usize>cols;
    const gs = <usize>q * groupBytes; // from one stream to the next
    for (let i = 0; i < q; i++) {
      const ra = r0 + (i << 2);
      let wa = w + <usize>(ra >> 2) * groupBytes;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let acc2 = f32x4.splat(0);
      let acc3 = f32x4.splat(0);
      let acc4 = f32x4.splat(0);
      let acc5 = f32x4.splat(0);
      let acc6 = f32x4.splat(0);
      let acc7 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        sink ^= touch(wa) ^ touch(wa + gs) ^ touch(wa + 2 * gs) ^ touch(wa + 3 * gs);
        sink ^= touch(wa + 4 * gs) ^ touch(wa + 5 * gs) ^ touch(wa + 6 * gs) ^ touch(wa + 7 * gs);
        const ab = act + (<usize>b << 5);
        const x0 = v128.load(ab);
        const x1 = v128.load(ab, 16);
        const a0 = i16x8.extend_low_i8x16_s(x0);
        const a1 = i16x8.extend_high_i8x16_s(x0);
        const a2 = i16x8.extend_low_i8x16_s(x1);
        const a3 = i16x8.extend_high_i8x16_s(x1);
        const da = f32x4.splat(load<f32>(ad + (<usize>b << 2)));
        acc0 = groupBlock(wa, a0, a1, a2, a3, da, acc0);
        acc1 = groupBlock(wa + gs, a0, a1, a2, a3, da, acc1);
        acc2 = groupBlock(wa + 2 * gs, a0, a1, a2, a3, da, acc2);
        acc3 = groupBlock(wa + 3 * gs, a0, a1, a2, a3, da, acc3);
        acc4 = groupBlock(wa + 4 * gs, a0, a1, a2, a3, da, acc4);
        acc5 = groupBlock(wa + 5 * gs, a0, a1, a2, a3, da, acc5);
        acc6 = groupBlock(wa + 6 * gs, a0, a1, a2, a3, da, acc6);
        acc7 = groupBlock(wa + 7 * gs, a0, a1, a2, a3, da, acc7);
        wa += GROUP_BLOCK;
      }
      const rs = q << 2; // rows from one stream to the next
      storeRows(out + (<usize>ra << 2), acc0, ra, rows, accumulate);
      storeRows(out + (<usize>(ra + rs) << 2), acc1, ra + rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 2 * rs) << 2), acc2, ra + 2 * rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 3 * rs) << 2), acc3, ra + 3 * rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 4 * rs) << 2), acc4, ra + 4 * rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 5 * rs) << 2), acc5, ra + 5 * rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 6 * rs) << 2), acc6, ra + 6 * rs, rows, accumulate);
      storeRows(out + (<usize>(ra + 7 * rs) << 2), acc7, ra + 7 * rs, rows, accumulate);
    }
    rStart = r0 + (q << 5);
  }
  for (let r = rStart; r < r1; r += 4) {
    const g = w + <usize>(r >> 2) * groupBytes;
    // Four tokens at a time, then two: each block's weights are widened once for them.
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const a = act + <usize>t * <usize>actRowBytes;
      const b = a + <usize>actRowBytes;
      const c = b + <usize>actRowBytes;
      const d = c + <usize>actRowBytes;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let acc2 = f32x4.splat(0);
      let acc3 = f32x4.splat(0);
      let wb = g;
      for (let k = 0; k < nb; k++) {
        const q0 = v128.load(wb);
        const q1 = v128.load(wb, 16);
        const q2 = v128.load(wb, 32);
        const q3 = v128.load(wb, 48);
        const q4 = v128.load(wb, 64);
        const q5 = v128.load(wb, 80);
        const q6 = v128.load(wb, 96);
        const q7 = v128.load(wb, 112);
        const w00 = i16x8.extend_low_i8x16_s(q0);
        const w01 = i16x8.extend_high_i8x16_s(q0);
        const w02 = i16x8.extend_low_i8x16_s(q1);
        const w03 = i16x8.extend_high_i8x16_s(q1);
        const w10 = i16x8.extend_low_i8x16_s(q2);
        const w11 = i16x8.extend_high_i8x16_s(q2);
        const w12 = i16x8.extend_low_i8x16_s(q3);
        const w13 = i16x8.extend_high_i8x16_s(q3);
        const w20 = i16x8.extend_low_i8x16_s(q4);
        const w21 = i16x8.extend_high_i8x16_s(q4);
        const w22 = i16x8.extend_low_i8x16_s(q5);
        const w23 = i16x8.extend_high_i8x16_s(q5);
        const w30 = i16x8.extend_low_i8x16_s(q6);
        const w31 = i16x8.extend_high_i8x16_s(q6);
        const w32 = i16x8.extend_low_i8x16_s(q7);
        const w33 = i16x8.extend_high_i8x16_s(q7);
        const sw = v128.load(wb, 128);
        const off = <usize>k << 5;
        const ds = <usize>cols + (<usize>k << 2);
        acc0 = blockPair(
          w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33,
          a + off, f32x4.mul(sw, f32x4.splat(load<f32>(a + ds))), acc0,
        );
        acc1 = blockPair(
          w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33,
          b + off, f32x4.mul(sw, f32x4.splat(load<f32>(b + ds))), acc1,
        );
        acc2 = blockPair(
          w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33,
          c + off, f32x4.mul(sw, f32x4.splat(load<f32>(c + ds))), acc2,
        );
        acc3 = blockPair(
          w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33,
          d + off, f32x4.mul(sw, f32x4.splat(load<f32>(d + ds))), acc3,
        );
        wb += GROUP_BLOCK;
      }
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      const os = <usize>outStride << 2;
      storeRows(o, acc0, r, rows, accumulate);
      storeRows(o + os, acc1, r, rows, accumulate);
      storeRows(o + 2 * os, acc2, r, rows, accumulate);
      storeRows(o + 3 * os, acc3, r, rows, accumulate);
    }
    for (; t + 2 <= T; t += 2) {
      const a = act + <usize>t * <usize>actRowBytes;
      const b = a + <usize>actRowBytes;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let wb = g;
      for (let k = 0; k < nb; k++) {
        const q0 = v128.load(wb);
        const q1 = v128.load(wb, 16);
        const q2 = v128.load(wb, 32);
        const q3 = v128.load(wb, 48);
        const q4 = v128.load(wb, 64);
        const q5 = v128.load(wb, 80);
        const q6 = v128.load(wb, 96);
        const q7 = v128.load(wb, 112);
        const w00 = i16x8.extend_low_i8x16_s(q0);
        const w01 = i16x8.extend_high_i8x16_s(q0);
        const w02 = i16x8.extend_low_i8x16_s(q1);
        const w03 = i16x8.extend_high_i8x16_s(q1);
        const w10 = i16x8.extend_low_i8x16_s(q2);
        const w11 = i16x8.extend_high_i8x16_s(q2);
        const w12 = i16x8.extend_low_i8x16_s(q3);
        const w13 = i16x8.extend_high_i8x16_s(q3);
        const w20 = i16x8.extend_low_i8x16_s(q4);
        const w21 = i16x8.extend_high_i8x16_s(q4);
        const w22 = i16x8.extend_low_i8x16_s(q5);
        const w23 = i16x8.extend_high_i8x16_s(q5);
        const w30 = i16x8.extend_low_i8x16_s(q6);
        const w31 = i16x8.extend_high_i8x16_s(q6);
        const w32 = i16x8.extend_low_i8x16_s(q7);
        const w33 = i16x8.extend_high_i8x16_s(q7);
        const sw = v128.load(wb, 128);
        const off = <usize>k << 5;
        const ds = <usize>cols + (<usize>k << 2);
        acc0 = blockPair(
          w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33,
          a + off, f32x4.mul(sw, f32x4.splat(load<f32>(a + ds))), acc0,
        );
        acc1 = blockPair(
          w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33,
          b + off, f32x4.mul(sw, f32x4.splat(load<f32>(b + ds))), acc1,
        );
        wb += GROUP_BLOCK;
      }
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      storeRows(o, acc0, r, rows, accumulate);
      storeRows(o + (<usize>outStride << 2), acc1, r, rows, accumulate);
    }
    for (; t < T; t++) {
      const a = act + <usize>t * <usize>actRowBytes;
      const ad = a + <usize>cols;
      let acc = f32x4.splat(0);
      let wb = g;
      for (let b = 0; b < nb; b++) {
        sink ^= touch(wb);
        const ab = a + (<usize>b << 5);
        const x0 = v128.load(ab);
        const x1 = v128.load(ab, 16);
        const a0 = i16x8.extend_low_i8x16_s(x0);
        const a1 = i16x8.extend_high_i8x16_s(x0);
        const a2 = i16x8.extend_low_i8x16_s(x1);
        const a3 = i16x8.extend_high_i8x16_s(x1);
        acc = groupBlock(wb, a0, a1, a2, a3, f32x4.splat(load<f32>(ad + (<usize>b << 2))), acc);
        wb += GROUP_BLOCK;
      }
      storeRows(out + ((<usize>t * <usize>outStride + <usize>r) << 2), acc, r, rows, accumulate);
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}
