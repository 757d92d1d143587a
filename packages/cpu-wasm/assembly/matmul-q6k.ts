// Q6_K weights widened to int8 at load (src/pack.ts) against Q8_K activations. Q6_K's 6-bit
// quants (q − 32, −32..31) become int8 in four-row groups laid out as Q8_0's (assembly/
// matmul-q8.ts), so one kernel widens a 32-column chunk of four rows and dots it with the
// activation in i16, instead of unpacking nibbles and high bits row by row (3.6 GMAC/s). Per
// group and 256-column super-block, 1104 bytes:
//
//   0     8 chunks of 32 columns, each the four rows' 32 int8 quants (128 bytes)
//   1024  8 × 8 int8 sub-block scales: chunk c's two 16-column sub-blocks, rows 0–3 of sub-block
//         2c then rows 0–3 of 2c + 1
//   1088  the four rows' f32 `d`
//
// As ggml's vec_dot_q6_K_q8_K, each super-block's sum Σ_s sc[s] · Σ (q − 32) · a is an exact i32
// (|Σ| ≤ 16 · 32 · 127 · 128 · 16 < 2³¹), then scaled by d · d_a in f32.

/** Bytes of one four-row group's super-block. */
export const Q6K_GROUP_BLOCK: usize = 1104;

/** How far ahead (bytes) the weight stream is touched (see matmul-q8.ts's AHEAD). */
const AHEAD: usize = 4608;

/** The four lanes of `p0`..`p3` summed: `[Σp0, Σp1, Σp2, Σp3]`. */
@inline
function reduce4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const a = i32x4.add(v128.shuffle<i32>(p0, p1, 0, 4, 2, 6), v128.shuffle<i32>(p0, p1, 1, 5, 3, 7));
  const b = i32x4.add(v128.shuffle<i32>(p2, p3, 0, 4, 2, 6), v128.shuffle<i32>(p2, p3, 1, 5, 3, 7));
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 1, 4, 5), v128.shuffle<i32>(a, b, 2, 3, 6, 7));
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

/** Touches the lines of 138 bytes (an eighth of a group's super-block) `AHEAD` past `p`. */
@inline
function touch(p: usize): u32 {
  return load<u8>(p + AHEAD) ^ load<u8>(p + AHEAD + 60) ^ load<u8>(p + AHEAD + 120);
}

/** {@link touch}, for matmul-q5k.ts (whose eighths are 140 bytes: the loads 60 apart still cover them). */
@inline
export function touch138(p: usize): u32 {
  return touch(p);
}

/**
 * Four rows' 32 int8 quants (128 bytes at `wq`, row after row) against a widened 32-value
 * activation: the four rows' sums in i32 lanes.
 */
@inline
export function dot32x4(wq: usize, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  return reduce4(
    i32x4.add(dot16(wq, a0, a1), dot16(wq + 16, a2, a3)),
    i32x4.add(dot16(wq + 32, a0, a1), dot16(wq + 48, a2, a3)),
    i32x4.add(dot16(wq + 64, a0, a1), dot16(wq + 80, a2, a3)),
    i32x4.add(dot16(wq + 96, a0, a1), dot16(wq + 112, a2, a3)),
  );
}

/**
 * The four rows' exact i32 sums over chunk `c` (32 columns, two sub-blocks) of the group
 * super-block at `gb`, each sub-block's sum times its scale, against the widened activation.
 */
@inline
function chunk(gb: usize, c: i32, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const wq = gb + (<usize>c << 7);
  const even = reduce4(dot16(wq, a0, a1), dot16(wq + 32, a0, a1), dot16(wq + 64, a0, a1), dot16(wq + 96, a0, a1));
  const odd = reduce4(dot16(wq + 16, a2, a3), dot16(wq + 48, a2, a3), dot16(wq + 80, a2, a3), dot16(wq + 112, a2, a3));
  const sc = v128.load8x8_s(gb + 1024 + (<usize>c << 3));
  return i32x4.add(i32x4.mul(even, i32x4.extend_low_i16x8_s(sc)), i32x4.mul(odd, i32x4.extend_high_i16x8_s(sc)));
}

/** Stores (or adds) four row results of one token; rows past `rows` are left alone. */
@inline
export function storeRows4(o: usize, acc: v128, r: i32, rows: i32, accumulate: bool): void {
  storeRows(o, acc, r, rows, accumulate);
}

/** Stores (or adds) four row results of one token; rows past `rows` are left alone. */
@inline
function storeRows(o: usize, acc: v128, r: i32, rows: i32, accumulate: bool): void {
  if (r + 4 <= rows) {
    v128.store(o, accumulate ? f32x4.add(v128.load(o), acc) : acc);
    return;
  }
  let v = acc;
  for (let i = 0; i < rows - r; i++) {
    const oi = o + (<usize>i << 2);
    const x = f32x4.extract_lane(v, 0);
    store<f32>(oi, accumulate ? load<f32>(oi) + x : x);
    v = v128.shuffle<f32>(v, v, 1, 2, 3, 0);
  }
}

/**
 * `out[t·outStride + r] (+)= Σ_c W[r, c] · act[t, c]` for rows `[r0, r1)` (`r0` a multiple of 4)
 * of a `rows`-row Q6_K weight packed in four-row groups, against `T` Q8_K activation rows.
 */
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
  const nb = cols >> 8;
  const groupBytes = <usize>nb * Q6K_GROUP_BLOCK;
  let sink: u32 = 0;
  let rStart = r0;
  if (T == 1) {
    // One token (a decode): four groups far apart at once, four streams of weights in flight
    // (matmul-q8.ts walks eight; these blocks take more registers), the activation widened once.
    const q = ((r1 - r0 + 3) >> 2) >> 2;
    const gs = <usize>q * groupBytes;
    const ad = act + <usize>cols;
    for (let i = 0; i < q; i++) {
      const ra = r0 + (i << 2);
      const g = w + <usize>(ra >> 2) * groupBytes;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let acc2 = f32x4.splat(0);
      let acc3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const gb = g + <usize>b * Q6K_GROUP_BLOCK;
        const qa = act + (<usize>b << 8);
        let i0 = i32x4.splat(0);
        let i1 = i32x4.splat(0);
        let i2 = i32x4.splat(0);
        let i3 = i32x4.splat(0);
        for (let c = 0; c < 8; c++) {
          sink ^= touch(gb + <usize>c * 138) ^ touch(gb + gs + <usize>c * 138);
          sink ^= touch(gb + 2 * gs + <usize>c * 138) ^ touch(gb + 3 * gs + <usize>c * 138);
          const ab = qa + (<usize>c << 5);
          const x0 = v128.load(ab);
          const x1 = v128.load(ab, 16);
          const a0 = i16x8.extend_low_i8x16_s(x0);
          const a1 = i16x8.extend_high_i8x16_s(x0);
          const a2 = i16x8.extend_low_i8x16_s(x1);
          const a3 = i16x8.extend_high_i8x16_s(x1);
          i0 = i32x4.add(i0, chunk(gb, c, a0, a1, a2, a3));
          i1 = i32x4.add(i1, chunk(gb + gs, c, a0, a1, a2, a3));
          i2 = i32x4.add(i2, chunk(gb + 2 * gs, c, a0, a1, a2, a3));
          i3 = i32x4.add(i3, chunk(gb + 3 * gs, c, a0, a1, a2, a3));
        }
        const da = f32x4.splat(load<f32>(ad + (<usize>b << 2)));
        acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_s(i0), f32x4.mul(v128.load(gb, 1088), da)));
        acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_s(i1), f32x4.mul(v128.load(gb + gs, 1088), da)));
        acc2 = f32x4.add(acc2, f32x4.mul(f32x4.convert_i32x4_s(i2), f32x4.mul(v128.load(gb + 2 * gs, 1088), da)));
        acc3 = f32x4.add(acc3, f32x4.mul(f32x4.convert_i32x4_s(i3), f32x4.mul(v128.load(gb + 3 * gs, 1088), da)));
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
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const gb = g + <usize>b * Q6K_GROUP_BLOCK;
        const qa = a + (<usize>b << 8);
        let isum = i32x4.splat(0);
        for (let c = 0; c < 8; c++) {
          // Every line of the super-block 4.5 KiB on, 1104 / 8 = 138 bytes a chunk.
          sink ^= touch(gb + <usize>c * 138);
          const ab = qa + (<usize>c << 5);
          const x0 = v128.load(ab);
          const x1 = v128.load(ab, 16);
          const a0 = i16x8.extend_low_i8x16_s(x0);
          const a1 = i16x8.extend_high_i8x16_s(x0);
          const a2 = i16x8.extend_low_i8x16_s(x1);
          const a3 = i16x8.extend_high_i8x16_s(x1);
          isum = i32x4.add(isum, chunk(gb, c, a0, a1, a2, a3));
        }
        const d = f32x4.mul(v128.load(gb, 1088), f32x4.splat(load<f32>(ad + (<usize>b << 2))));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum), d));
      }
      storeRows(out + ((<usize>t * <usize>outStride + <usize>r) << 2), acc, r, rows, accumulate);
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}
