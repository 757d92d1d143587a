// Helpers shared by the kernels: lane sums, four-row group results, touching the weight stream
// ahead, f16/bf16 rounding and widening, thread ranges.

/**
 * How far ahead (bytes) the matmul kernels touch the weight stream, so the memory system fetches
 * while they compute: wasm has no prefetch instruction, and a plain load whose value is folded
 * into a kept sink does the same. A decode is bound by how many line misses are in flight; every
 * 64-byte line is touched (touching one line in two, 1.1 KiB ahead, left the Q8_0 decode at 6.3
 * GMAC/s, every line 4.5 KiB ahead 8.0; 1152, 2304, 4608, 6912, 9216 bytes measured, 4608 or more
 * best). The executor leaves `WEIGHT_TAIL` (src/executor.ts) bytes after the last weight for
 * these loads.
 */
export const TOUCH_AHEAD: usize = 4608;

/**
 * Touches the bytes at `p + TOUCH_AHEAD`, `+ step` and `+ 2·step`; their xor (fold it into a sink
 * that is kept). With `step` under 64, every line of a run of up to `3·step` bytes is touched.
 */
@inline
export function touch3(p: usize, step: usize): u32 {
  const q = p + TOUCH_AHEAD;
  return load<u8>(q) ^ load<u8>(q + step) ^ load<u8>(q + 2 * step);
}

/** The four lanes of `p0`..`p3` summed: `[Σp0, Σp1, Σp2, Σp3]`. */
@inline
export function reduce4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const a = i32x4.add(v128.shuffle<i32>(p0, p1, 0, 4, 2, 6), v128.shuffle<i32>(p0, p1, 1, 5, 3, 7));
  const b = i32x4.add(v128.shuffle<i32>(p2, p3, 0, 4, 2, 6), v128.shuffle<i32>(p2, p3, 1, 5, 3, 7));
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 1, 4, 5), v128.shuffle<i32>(a, b, 2, 3, 6, 7));
}

/** Stores (or adds) a four-row group's results for one token; rows past `rows` are left alone. */
@inline
export function storeRows(o: usize, acc: v128, r: i32, rows: i32, accumulate: bool): void {
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

/** Sum of the four f32 lanes, pairwise. */
@inline
export function hsum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
  );
}

/** Sum of the four i32 lanes. */
@inline
export function hsumI32(v: v128): i32 {
  return (
    i32x4.extract_lane(v, 0) +
    i32x4.extract_lane(v, 1) +
    i32x4.extract_lane(v, 2) +
    i32x4.extract_lane(v, 3)
  );
}

/** Σ a·b over 16 int8 pairs, as four i32 lanes (sign-extended to i16, then pmaddwd). */
@inline
export function dotI8x16(a: v128, b: v128): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), i16x8.extend_low_i8x16_s(b)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), i16x8.extend_high_i8x16_s(b)),
  );
}

/** An IEEE binary16 bit pattern as f32 (exact; subnormals included, inf/NaN kept). */
@inline
export function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const em = h & 0x7fff;
  if (em >= 0x7c00) return reinterpret<f32>(sign | 0x7f800000 | ((em & 0x3ff) << 13));
  // Shift exponent and mantissa into place, then scale by 2^112: exact for normals and subnormals.
  return reinterpret<f32>(sign | reinterpret<u32>(reinterpret<f32>(em << 13) * 5.192296858534828e33));
}

/** Four binary16 values (the low 64 bits of `h`) widened to f32 lanes, finite inputs. */
@inline
export function f16x4ToF32x4(h: v128): v128 {
  const u = i32x4.extend_low_i16x8_u(h);
  const sign = v128.and(i32x4.shl(u, 16), i32x4.splat(0x80000000));
  const em = i32x4.shl(v128.and(u, i32x4.splat(0x7fff)), 13);
  const mag = f32x4.mul(em, f32x4.splat(5.192296858534828e33));
  return v128.or(mag, sign);
}

/** f32 rounded to the nearest binary16 (ties to even), as binary16 bits. */
export function f32ToF16(f: f32): u32 {
  const x = reinterpret<u32>(f);
  const sign = (x >> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0);
  if (abs >= 0x477ff000) return sign | 0x7c00; // rounds to infinity
  if (abs < 0x38800000) {
    // Subnormal half (or zero): scale so the half's ulp is 1.0, round to even by adding 0.5 ulp.
    const v = reinterpret<f32>(abs) * 16777216.0; // 2^24
    return sign | <u32>nearest(v);
  }
  const mant = abs & 0x1fff;
  let h = (abs - 0x38000000) >> 13;
  if (mant > 0x1000 || (mant == 0x1000 && (h & 1) != 0)) h++;
  return sign | h;
}

/** f32 rounded to binary16 precision and back. */
@inline
export function roundF16(f: f32): f32 {
  return f16ToF32(f32ToF16(f));
}

/** f32 rounded to bfloat16 precision (ties to even) and back; NaN stays NaN. */
@inline
export function roundBf16(f: f32): f32 {
  const x = reinterpret<u32>(f);
  if ((x & 0x7fffffff) > 0x7f800000) return f;
  return reinterpret<f32>((x + (0x7fff + ((x >> 16) & 1))) & 0xffff0000);
}

/** First item of thread `tid`'s share of `n` items split over `threads`. */
@inline
export function shareStart(n: i32, tid: i32, threads: i32): i32 {
  return <i32>((<i64>n * tid) / threads);
}
