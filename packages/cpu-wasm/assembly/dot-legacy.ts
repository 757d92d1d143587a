// Dot products of one weight row in a 32-element block type (GGUF's byte layout) with a prepared
// activation row: Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL. `n` is the row length in elements.
//
// Q4_1, Q5_0, Q5_1 and IQ4_NL share one loop (dotBlocks): four blocks at a time, their f16 scales
// (and minima) gathered into one v128 and widened together, each block's integer sums (exact, i32)
// scaled by its d·d8 into four f32 lanes; a last 1–3 blocks one by one. Their f16 scales are
// widened as finite values (f16x4ToF32x4), as in every real file.

import { dotI8x16, f16ToF32, f16x4ToF32x4, hsum } from './common';

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

/** The four f16 values at `p`, `p + stride`, `p + 2·stride`, `p + 3·stride`, as f32 lanes. */
@inline
function f16x4At(p: usize, stride: usize): v128 {
  let h = v128.load16_splat(p);
  h = v128.load16_lane(p + stride, h, 1);
  h = v128.load16_lane(p + stride * 2, h, 2);
  h = v128.load16_lane(p + stride * 3, h, 3);
  return f16x4ToF32x4(h);
}

/** The f16 value at `p` as f32, widened as {@link f16x4At} does. */
@inline
function f16At(p: usize): f32 {
  return f32x4.extract_lane(f16x4ToF32x4(v128.load16_splat(p)), 0);
}

/**
 * Σ w·q8 over 16 int8 weights `wv` and the 16 int8 activations at `ab`, as four i32 lanes: the
 * activations are widened by the loads themselves (v128.load8x8_s), the weights by extends.
 */
@inline
function dotW8x16(wv: v128, ab: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(wv), v128.load8x8_s(ab)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(wv), v128.load8x8_s(ab, 8)),
  );
}

/**
 * Byte j of the result is 0xff where bit (`first` + j) of the 32-bit `qh` (splatted in `v`) is
 * clear, 0 where it is set: `first` is 0 for elements 0–15 and 16 for 16–31.
 */
@inline
function fifthBitClear(v: v128, first: i32): v128 {
  // Each byte of qh repeated eight times, then each copy tested against its own bit.
  const rep =
    first == 0
      ? i8x16.shuffle(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
      : i8x16.shuffle(v, v, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const bits = i64x2.splat(0x8040201008040201);
  return i8x16.eq(v128.and(rep, bits), i8x16.splat(0));
}

/**
 * Q4_1 block at `blk` · the 32 int8 activations at `ab`: Σ q·q8 as four i32 lanes. The 16 nibble
 * bytes at blk + 4 are widened to u16 by the loads (bytes 0–7 and 8–15), so the low nibbles are
 * elements 0–7 / 8–15 and the high ones 16–23 / 24–31, each already an i16 lane.
 */
@inline
function q4_1Sums(blk: usize, ab: usize): v128 {
  const low = i16x8.splat(0x0f);
  const q0 = v128.load8x8_u(blk, 4);
  const q1 = v128.load8x8_u(blk, 12);
  return i32x4.add(
    i32x4.add(
      i32x4.dot_i16x8_s(v128.and(q0, low), v128.load8x8_s(ab)),
      i32x4.dot_i16x8_s(v128.and(q1, low), v128.load8x8_s(ab, 8)),
    ),
    i32x4.add(
      i32x4.dot_i16x8_s(i16x8.shr_u(q0, 4), v128.load8x8_s(ab, 16)),
      i32x4.dot_i16x8_s(i16x8.shr_u(q1, 4), v128.load8x8_s(ab, 24)),
    ),
  );
}

/**
 * Q5_0 block at `blk` · the activations at `ab`: Σ (q − 16)·q8 as four i32 lanes. A clear fifth
 * bit turns the nibble into nibble − 16 (0xf0 or-ed in, as int8), a set one leaves it as is.
 */
@inline
function q5_0Sums(blk: usize, ab: usize): v128 {
  const low = i8x16.splat(0x0f);
  const minus16 = i8x16.splat(<i8>0xf0);
  const qh = v128.load32_splat(blk, 2);
  const q = v128.load(blk, 6);
  const lo = v128.or(v128.and(q, low), v128.and(fifthBitClear(qh, 0), minus16));
  const hi = v128.or(i8x16.shr_u(q, 4), v128.and(fifthBitClear(qh, 16), minus16));
  return i32x4.add(dotW8x16(lo, ab), dotW8x16(hi, ab + 16));
}

/** Q5_1 block at `blk` · the activations at `ab`: Σ q·q8 (q = nibble | fifth bit << 4) as i32 lanes. */
@inline
function q5_1Sums(blk: usize, ab: usize): v128 {
  const low = i8x16.splat(0x0f);
  const sixteen = i8x16.splat(0x10);
  const qh = v128.load32_splat(blk, 4);
  const q = v128.load(blk, 8);
  const lo = v128.or(v128.and(q, low), v128.andnot(sixteen, fifthBitClear(qh, 0)));
  const hi = v128.or(i8x16.shr_u(q, 4), v128.andnot(sixteen, fifthBitClear(qh, 16)));
  return i32x4.add(dotW8x16(lo, ab), dotW8x16(hi, ab + 16));
}

/**
 * IQ4_NL block at `blk` · the activations at `ab`: Σ level·q8 as four i32 lanes. The 16 levels
 * (ggml's kvalues_iq4nl) sit in one v128; `i8x16.swizzle` looks 16 indices up at once.
 */
@inline
function iq4nlSums(blk: usize, ab: usize): v128 {
  const low = i8x16.splat(0x0f);
  const levels = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
  const q = v128.load(blk, 2);
  const lo = i8x16.swizzle(levels, v128.and(q, low));
  const hi = i8x16.swizzle(levels, i8x16.shr_u(q, 4));
  return i32x4.add(dotW8x16(lo, ab), dotW8x16(hi, ab + 16));
}

/** Block `type`'s Σ quant·q8 (see the *Sums helpers); `type` is a constant where inlined. */
@inline
function blockSums(type: i32, blk: usize, ab: usize): v128 {
  if (type == 3) return q4_1Sums(blk, ab);
  if (type == 6) return q5_0Sums(blk, ab);
  if (type == 7) return q5_1Sums(blk, ab);
  return iq4nlSums(blk, ab);
}

/**
 * The loop the Q4_1, Q5_0, Q5_1 and IQ4_NL kernels share (inlined into each with constant
 * arguments): blocks of `bytes` bytes with an f16 d at byte 0 and, where `withMin`, an f16 m at
 * byte 2, against a Q8_0 row (`withMin` false) or a Q8_1 row. Σ over blocks of d·d8·Σ q·q8 (four
 * f32 lanes), plus, where `withMin`, Σ m·s8 (a separate sum, added last, as ggml does).
 */
@inline
function dotBlocks(type: i32, bytes: usize, withMin: bool, w: usize, a: usize, n: i32): f32 {
  const nb = n >> 5;
  const ad = a + <usize>n;
  const as = ad + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  let mins = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const blk = w + <usize>b * bytes;
    const ab = a + (<usize>b << 5);
    const ob = <usize>b << 2;
    const d = f32x4.mul(f16x4At(blk, bytes), v128.load(ad + ob));
    if (withMin) mins = f32x4.add(mins, f32x4.mul(f16x4At(blk + 2, bytes), v128.load(as + ob)));
    const s0 = f32x4.convert_i32x4_s(blockSums(type, blk, ab));
    const s1 = f32x4.convert_i32x4_s(blockSums(type, blk + bytes, ab + 32));
    const s2 = f32x4.convert_i32x4_s(blockSums(type, blk + bytes * 2, ab + 64));
    const s3 = f32x4.convert_i32x4_s(blockSums(type, blk + bytes * 3, ab + 96));
    acc = f32x4.add(acc, f32x4.mul(s0, i32x4.shuffle(d, d, 0, 0, 0, 0)));
    acc = f32x4.add(acc, f32x4.mul(s1, i32x4.shuffle(d, d, 1, 1, 1, 1)));
    acc = f32x4.add(acc, f32x4.mul(s2, i32x4.shuffle(d, d, 2, 2, 2, 2)));
    acc = f32x4.add(acc, f32x4.mul(s3, i32x4.shuffle(d, d, 3, 3, 3, 3)));
  }
  let tail: f32 = 0;
  for (; b < nb; b++) {
    const blk = w + <usize>b * bytes;
    const ob = <usize>b << 2;
    const d = f16At(blk) * load<f32>(ad + ob);
    if (withMin) tail += f16At(blk + 2) * load<f32>(as + ob);
    const s = blockSums(type, blk, a + (<usize>b << 5));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)));
  }
  const sum = hsum(acc);
  return withMin ? sum + (hsum(mins) + tail) : sum;
}

/**
 * Q4_1 · Q8_1. Q4_1 blocks: 20 bytes, f16 d at 0, f16 m at 2, 16 bytes of nibbles at 4 (byte j:
 * element j in the low nibble, j + 16 in the high one); value q·d + m, q unsigned 0–15. Q8_1 row:
 * n int8 quants, then n/32 f32 d8, then n/32 f32 s8 = f16(d8·Σ q8).
 */
export function dotQ4_1(w: usize, a: usize, n: i32): f32 {
  return dotBlocks(3, 20, true, w, a, n);
}

/**
 * Q5_0 · Q8_0. Q5_0 blocks: 22 bytes, f16 d at 0, 4 bytes qh at 2 (bit j: the fifth bit of
 * element j), 16 bytes of nibbles at 6 (byte j: element j low, j + 16 high); value (q − 16)·d,
 * q = nibble | fifth bit << 4. Q8_0 row: n int8 quants, then n/32 f32 d8.
 */
export function dotQ5_0(w: usize, a: usize, n: i32): f32 {
  return dotBlocks(6, 22, false, w, a, n);
}

/**
 * Q5_1 · Q8_1. Q5_1 blocks: 24 bytes, f16 d at 0, f16 m at 2, 4 bytes qh at 4 (bit j: the fifth
 * bit of element j), 16 bytes of nibbles at 8 (byte j: element j low, j + 16 high); value
 * q·d + m, q = nibble | fifth bit << 4 (0–31). Q8_1 row: quants, then f32 d8, then f32 s8.
 */
export function dotQ5_1(w: usize, a: usize, n: i32): f32 {
  return dotBlocks(7, 24, true, w, a, n);
}

/**
 * IQ4_NL · Q8_0. IQ4_NL blocks: 18 bytes, f16 d at 0, then 16 bytes of 4-bit indices at 2 (byte
 * j: element j low, j + 16 high); value d·kvalues_iq4nl[index]. Q8_0 row: quants, then f32 d8.
 */
export function dotIQ4_NL(w: usize, a: usize, n: i32): f32 {
  return dotBlocks(20, 18, false, w, a, n);
}

/** Whether {@link dotLegacy} has a kernel for GGML type `type`: Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL. */
export function legacySupports(type: i32): bool {
  return type == 2 || type == 3 || type == 6 || type == 7 || type == 20;
}

/** One row of 32-block type `type` at `w` dotted with the prepared row at `a` (Q8_0 or Q8_1). */
export function dotLegacy(type: i32, w: usize, a: usize, n: i32): f32 {
  switch (type) {
    case 2:
      return dotQ4_0(w, a, n);
    case 3:
      return dotQ4_1(w, a, n);
    case 6:
      return dotQ5_0(w, a, n);
    case 7:
      return dotQ5_1(w, a, n);
    case 20:
      return dotIQ4_NL(w, a, n);
  }
  unreachable();
  return 0;
}
