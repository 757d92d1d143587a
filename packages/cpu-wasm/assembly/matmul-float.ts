// F32, F16 and BF16 weights against f32 activations (rounded to the weight's precision when they
// were prepared, as ggml converts them to the vec_dot_type).

import { f16x4ToF32x4, hsum } from './common';

export const W_F32: i32 = 0;
export const W_F16: i32 = 1;
export const W_BF16: i32 = 30;

/** Eight weights of row `wr` from element `c` as two f32x4. */
@inline
function load8(type: i32, wr: usize, c: i32, lo: bool): v128 {
  if (type == W_F32) return v128.load(wr + (<usize>c << 2) + (lo ? 0 : 16));
  const h = v128.load64_zero(wr + (<usize>c << 1) + (lo ? 0 : 8));
  if (type == W_F16) return f16x4ToF32x4(h);
  return i32x4.shl(i32x4.extend_low_i16x8_u(h), 16);
}

/** Bytes per weight of a float type. */
@inline
function elementBytes(type: i32): i32 {
  return type == W_F32 ? 4 : 2;
}

/**
 * `out[t·outStride + r] (+)= Σ_c W[r, c] · act[t, c]` for rows `[r0, r1)` of a float weight
 * (`cols` a multiple of 8 takes the vector path; the rest of a row is summed one by one).
 */
export function matmulFloat(
  type: i32,
  w: usize,
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
  const rowBytes = <usize>cols * elementBytes(type);
  const c8 = cols & ~7;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    for (let t = 0; t < T; t++) {
      const a = act + <usize>t * <usize>actRowBytes;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      for (let c = 0; c < c8; c += 8) {
        const ac = a + (<usize>c << 2);
        acc0 = f32x4.add(acc0, f32x4.mul(load8(type, wr, c, true), v128.load(ac)));
        acc1 = f32x4.add(acc1, f32x4.mul(load8(type, wr, c, false), v128.load(ac, 16)));
      }
      let sum = hsum(f32x4.add(acc0, acc1));
      for (let c = c8; c < cols; c++) {
        let wv: f32;
        if (type == W_F32) wv = load<f32>(wr + (<usize>c << 2));
        else {
          const h = <u32>load<u16>(wr + (<usize>c << 1));
          wv = type == W_F16 ? f32x4.extract_lane(f16x4ToF32x4(i16x8.splat(<i16>h)), 0) : reinterpret<f32>(h << 16);
        }
        sum += wv * load<f32>(a + (<usize>c << 2));
      }
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      store<f32>(o, accumulate ? load<f32>(o) + sum : sum);
    }
  }
}
