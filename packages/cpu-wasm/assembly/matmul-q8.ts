// Q8_0 weights against Q8_0 activations. Weights are repacked when they load (src/pack.ts) in
// groups of four rows: for each 32-element block, the four rows' int8 quants (4 × 32 bytes) and
// then their four scales widened to f32 (16 bytes), 144 bytes a group-block, so one sequential
// stream feeds the kernel and a block's four scales are one load. Rows are padded to a multiple
// of four with zero rows.

/** Bytes of one four-row group's block. */
const GROUP_BLOCK: usize = 144;

/**
 * How far ahead (bytes) each block touches the weight stream, so the memory system fetches while
 * the block computes: wasm has no prefetch instruction, and a plain load whose value is folded
 * into a sink does the same.
 */
const AHEAD: usize = 1152;

/** The four lanes of `p0`..`p3` summed: `[Σp0, Σp1, Σp2, Σp3]`. */
@inline
function reduce4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const a = i32x4.add(v128.shuffle<i32>(p0, p1, 0, 4, 2, 6), v128.shuffle<i32>(p0, p1, 1, 5, 3, 7));
  const b = i32x4.add(v128.shuffle<i32>(p2, p3, 0, 4, 2, 6), v128.shuffle<i32>(p2, p3, 1, 5, 3, 7));
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 1, 4, 5), v128.shuffle<i32>(a, b, 2, 3, 6, 7));
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
  for (let r = r0; r < r1; r += 4) {
    const g = w + <usize>(r >> 2) * groupBytes;
    for (let t = 0; t < T; t++) {
      const a = act + <usize>t * <usize>actRowBytes;
      const ad = a + <usize>cols;
      let acc = f32x4.splat(0);
      let wb = g;
      for (let b = 0; b < nb; b++) {
        sink ^= load<u8>(wb + AHEAD);
        const ab = a + (<usize>b << 5);
        const x0 = v128.load(ab);
        const x1 = v128.load(ab, 16);
        const a0 = i16x8.extend_low_i8x16_s(x0);
        const a1 = i16x8.extend_high_i8x16_s(x0);
        const a2 = i16x8.extend_low_i8x16_s(x1);
        const a3 = i16x8.extend_high_i8x16_s(x1);
        const sums = reduce4(
          dot32(wb, a0, a1, a2, a3),
          dot32(wb + 32, a0, a1, a2, a3),
          dot32(wb + 64, a0, a1, a2, a3),
          dot32(wb + 96, a0, a1, a2, a3),
        );
        const scale = f32x4.mul(v128.load(wb, 128), f32x4.splat(load<f32>(ad + (<usize>b << 2))));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(sums), scale));
        wb += GROUP_BLOCK;
      }
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      if (r + 4 <= rows) {
        v128.store(o, accumulate ? f32x4.add(v128.load(o), acc) : acc);
      } else {
        for (let i = 0; i < rows - r; i++) {
          const v = f32x4.extract_lane(acc, 0);
          const oi = o + (<usize>i << 2);
          store<f32>(oi, accumulate ? load<f32>(oi) + v : v);
          acc = v128.shuffle<f32>(acc, acc, 1, 2, 3, 0);
        }
      }
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}
