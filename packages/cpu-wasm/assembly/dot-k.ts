// Dot products of one weight row in a 256-element super-block type (GGUF's byte layout) with a
// Q8_K activation row: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS. `n` is the row length.
//
// The prepared Q8_K row at `a` (assembly/act.ts, as ggml's quantize_row_q8_K_ref): `n` int8 quants
// (|q| ≤ 127), then `n/256` f32 scales `d` at `a + n`, then `n/16` i16 `bsums` (the sum of each
// 16 consecutive quants) at `a + n + (n/256)·4`.
//
// Every kernel sums each super-block's integer products exactly in i32 lanes (weights times
// sub-block scales, minus the mins through the bsums as ggml does), then adds `d · sum` (and
// `dmin · mins`) to f32 lanes. Products of small weights with the int8 quants are taken as i16
// (`i16x8.extmul`, or for Q4_K/Q6_K `i16x8.mul` of even and odd bytes apart, which V8 lowers to
// fewer instructions) and summed in i16 while they provably fit, then multiplied by the sub-block
// scale and pair-summed by `i32x4.dot_i16x8_s` against the scale broadcast to every lane.
// Q4_K/Q6_K loop over 64-element runs rather than unrolling a super-block: V8 hoists all loads of a
// long straight-line block and spills (measured: ~2× slower).

import { f16ToF32, hsum } from './common';

const Q2_K: i32 = 10;
const Q3_K: i32 = 11;
const Q4_K: i32 = 12;
const Q5_K: i32 = 13;
const Q6_K: i32 = 14;
const IQ4_XS: i32 = 23;

/** a·b lane by lane as i16 (both int8; the caller bounds |a·b| so the pair sum fits), pairs added. */
@inline
function mac(a: v128, b: v128): v128 {
  return i16x8.add(i16x8.extmul_low_i8x16_s(a, b), i16x8.extmul_high_i8x16_s(a, b));
}

/** i16 lane `k` of `v` in all eight lanes (a swizzle with a constant mask once `k` is known). */
@inline
function bcast(v: v128, k: i32): v128 {
  return i8x16.swizzle(v, i16x8.splat(<i16>(0x0100 + k * 0x0202)));
}

/** Σ over the 16 bsums of one super-block (at `bs`) times eight i16 weights each taking a pair. */
@inline
function bsumPairsDot(bs: usize, m: v128): v128 {
  const pairs = i16x8.narrow_i32x4_s(
    i32x4.extadd_pairwise_i16x8_s(v128.load(bs)),
    i32x4.extadd_pairwise_i16x8_s(v128.load(bs, 16)),
  );
  return i32x4.dot_i16x8_s(pairs, m);
}

/**
 * Q4_K's or Q5_K's 12 bytes of packed 6-bit scales and mins at `s` (get_scale_min_k4) as 16 bytes:
 * scales 0–7, then mins 0–7.
 */
@inline
function scalesMinsK4(s: usize): v128 {
  const u0 = load<u32>(s);
  const u1 = load<u32>(s, 4);
  const u2 = load<u32>(s, 8);
  const sc03 = u0 & 0x3f3f3f3f;
  const sc47 = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
  const mn03 = u1 & 0x3f3f3f3f;
  const mn47 = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
  return i64x2.replace_lane(
    i64x2.splat(<i64>sc03 | (<i64>sc47 << 32)),
    1,
    <i64>mn03 | (<i64>mn47 << 32),
  );
}

/**
 * Splat masks, loaded from memory once per call: V8 rematerializes a `v128.const` at every use.
 * 0: 0x000f, 16: 0x00ff, 32: 0x0f0f, 48: 0x3030 in every i16 lane.
 */
const MASKS = memory.data<u16>([
  0x000f, 0x000f, 0x000f, 0x000f, 0x000f, 0x000f, 0x000f, 0x000f,
  0x00ff, 0x00ff, 0x00ff, 0x00ff, 0x00ff, 0x00ff, 0x00ff, 0x00ff,
  0x0f0f, 0x0f0f, 0x0f0f, 0x0f0f, 0x0f0f, 0x0f0f, 0x0f0f, 0x0f0f,
  0x3030, 0x3030, 0x3030, 0x3030, 0x3030, 0x3030, 0x3030, 0x3030,
], 16);

/** The even-numbered int8 lanes of `a` as i16. */
@inline
function even8(a: v128): v128 {
  return i16x8.shr_s(i16x8.shl(a, 8), 8);
}

/** The odd-numbered int8 lanes of `a` as i16. */
@inline
function odd8(a: v128): v128 {
  return i16x8.shr_s(a, 8);
}

/**
 * Q4_K: Σ over one sub-block's 32 nibbles (bits `shift`..`shift+3` of the bytes at `q`, as i16 lanes)
 * times the activation at `qa`, lane sums of four products as i16 (|q·a| ≤ 15·127).
 */
@inline
function q4Sub(q0: v128, q1: v128, shift: i32, qa: usize, m: v128): v128 {
  const a0 = v128.load(qa);
  const a1 = v128.load(qa, 16);
  const e0 = v128.and(shift == 0 ? q0 : i16x8.shr_u(q0, shift), m);
  const o0 = shift == 4 ? i16x8.shr_u(q0, 12) : v128.and(i16x8.shr_u(q0, shift + 8), m);
  const e1 = v128.and(shift == 0 ? q1 : i16x8.shr_u(q1, shift), m);
  const o1 = shift == 4 ? i16x8.shr_u(q1, 12) : v128.and(i16x8.shr_u(q1, shift + 8), m);
  return i16x8.add(
    i16x8.add(i16x8.mul(e0, even8(a0)), i16x8.mul(o0, odd8(a0))),
    i16x8.add(i16x8.mul(e1, even8(a1)), i16x8.mul(o1, odd8(a1))),
  );
}

/**
 * Q4_K row (GGUF block_q4_K, 144 bytes per 256 elements): f16 `d` at byte 0, f16 `dmin` at 2, 12
 * bytes of packed 6-bit sub-block scales and mins at 4 (get_scale_min_k4), 128 bytes of nibbles at
 * 16 — each 32-byte run j holds sub-block 2j in its low nibbles and 2j + 1 in its high ones.
 * Element value `d·sc·q − dmin·m`; the mins term uses the activation's bsums.
 */
export function dotQ4_K(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  const abs = ad + (<usize>nb << 2);
  const m = v128.load(MASKS);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 144;
    const qa = a + (<usize>b << 8);
    const sm = scalesMinsK4(blk + 4);
    const sc = i16x8.extend_low_i8x16_u(sm);
    // A loop over the four 64-element runs (unrolled, V8 hoists every load and spills); the
    // scales rotate so the run's two are always i16 lanes 0 and 1.
    let s = i32x4.splat(0);
    let cur = sc;
    for (let j = 0; j < 4; j++) {
      s = i32x4.add(s, q4Pair(blk + 16 + (<usize>j << 5), qa + (<usize>j << 6), cur, m));
      cur = v128.shuffle<i32>(cur, cur, 1, 2, 3, 0);
    }
    const yd = load<f32>(ad + (<usize>b << 2));
    const d = yd * f16ToF32(<u32>load<u16>(blk));
    const dmin = yd * f16ToF32(<u32>load<u16>(blk, 2));
    const mins = bsumPairsDot(abs + (<usize>b << 5), i16x8.extend_high_i8x16_u(sm));
    acc = f32x4.add(acc, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)), f32x4.mul(f32x4.convert_i32x4_s(mins), f32x4.splat(dmin))));
  }
  return hsum(acc);
}

/**
 * Q4_K: as {@link q4Sub} with the activation's even and odd int8 lanes already split into i16
 * (`ea0`/`oa0` for its first 16 values, `ea1`/`oa1` for the next 16).
 */
@inline
function q4SubSplit(q0: v128, q1: v128, shift: i32, m: v128, ea0: v128, oa0: v128, ea1: v128, oa1: v128): v128 {
  const e0 = v128.and(shift == 0 ? q0 : i16x8.shr_u(q0, shift), m);
  const o0 = shift == 4 ? i16x8.shr_u(q0, 12) : v128.and(i16x8.shr_u(q0, shift + 8), m);
  const e1 = v128.and(shift == 0 ? q1 : i16x8.shr_u(q1, shift), m);
  const o1 = shift == 4 ? i16x8.shr_u(q1, 12) : v128.and(i16x8.shr_u(q1, shift + 8), m);
  return i16x8.add(
    i16x8.add(i16x8.mul(e0, ea0), i16x8.mul(o0, oa0)),
    i16x8.add(i16x8.mul(e1, ea1), i16x8.mul(o1, oa1)),
  );
}

/** One Q4_K super-block's `d·Σ − dmin·mins` in f32 lanes (their sum is the block's dot). */
@inline
function q4Finish(blk: usize, s: v128, sm: v128, bs: usize, yd: f32): v128 {
  const d = yd * f16ToF32(<u32>load<u16>(blk));
  const dmin = yd * f16ToF32(<u32>load<u16>(blk, 2));
  const mins = bsumPairsDot(bs, i16x8.extend_high_i8x16_u(sm));
  return f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)), f32x4.mul(f32x4.convert_i32x4_s(mins), f32x4.splat(dmin)));
}

/**
 * Two Q4_K rows (`w0`, `w1`) dotted with one Q8_K row: the activation's lanes are split once for
 * both, and the two rows' weight streams are in flight together (a decode reads rows far apart).
 * The two dots in lanes 0 and 1.
 */
export function dotQ4_K2Rows(w0: usize, w1: usize, a: usize, n: i32): v128 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  const abs = ad + (<usize>nb << 2);
  const m = v128.load(MASKS);
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk0 = w0 + <usize>b * 144;
    const blk1 = w1 + <usize>b * 144;
    const qa = a + (<usize>b << 8);
    const sm0 = scalesMinsK4(blk0 + 4);
    const sm1 = scalesMinsK4(blk1 + 4);
    let cur0 = i16x8.extend_low_i8x16_u(sm0);
    let cur1 = i16x8.extend_low_i8x16_u(sm1);
    let s0 = i32x4.splat(0);
    let s1 = i32x4.splat(0);
    for (let j = 0; j < 4; j++) {
      const qj = qa + (<usize>j << 6);
      const x0 = v128.load(qj);
      const x1 = v128.load(qj, 16);
      const x2 = v128.load(qj, 32);
      const x3 = v128.load(qj, 48);
      const e0 = even8(x0);
      const o0 = odd8(x0);
      const e1 = even8(x1);
      const o1 = odd8(x1);
      const e2 = even8(x2);
      const o2 = odd8(x2);
      const e3 = even8(x3);
      const o3 = odd8(x3);
      const r0 = blk0 + 16 + (<usize>j << 5);
      const r1 = blk1 + 16 + (<usize>j << 5);
      const p0 = v128.load(r0);
      const p1 = v128.load(r0, 16);
      const u0 = v128.load(r1);
      const u1 = v128.load(r1, 16);
      s0 = i32x4.add(s0, i32x4.add(
        i32x4.dot_i16x8_s(q4SubSplit(p0, p1, 0, m, e0, o0, e1, o1), v128.shuffle<i16>(cur0, cur0, 0, 0, 0, 0, 0, 0, 0, 0)),
        i32x4.dot_i16x8_s(q4SubSplit(p0, p1, 4, m, e2, o2, e3, o3), v128.shuffle<i16>(cur0, cur0, 1, 1, 1, 1, 1, 1, 1, 1)),
      ));
      s1 = i32x4.add(s1, i32x4.add(
        i32x4.dot_i16x8_s(q4SubSplit(u0, u1, 0, m, e0, o0, e1, o1), v128.shuffle<i16>(cur1, cur1, 0, 0, 0, 0, 0, 0, 0, 0)),
        i32x4.dot_i16x8_s(q4SubSplit(u0, u1, 4, m, e2, o2, e3, o3), v128.shuffle<i16>(cur1, cur1, 1, 1, 1, 1, 1, 1, 1, 1)),
      ));
      cur0 = v128.shuffle<i32>(cur0, cur0, 1, 2, 3, 0);
      cur1 = v128.shuffle<i32>(cur1, cur1, 1, 2, 3, 0);
    }
    const yd = load<f32>(ad + (<usize>b << 2));
    const bs = abs + (<usize>b << 5);
    acc0 = f32x4.add(acc0, q4Finish(blk0, s0, sm0, bs, yd));
    acc1 = f32x4.add(acc1, q4Finish(blk1, s1, sm1, bs, yd));
  }
  return f32x4.replace_lane(f32x4.splat(hsum(acc0)), 1, hsum(acc1));
}

/**
 * One Q4_K row dotted with two Q8_K rows (`a0`, `a1`; a batch's tokens): each block's nibbles and
 * scales are unpacked once for both. The two dots in lanes 0 and 1.
 */
export function dotQ4_K2Tokens(w: usize, a0: usize, a1: usize, n: i32): v128 {
  const nb = n >> 8;
  const m = v128.load(MASKS);
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 144;
    const sm = scalesMinsK4(blk + 4);
    let cur = i16x8.extend_low_i8x16_u(sm);
    let s0 = i32x4.splat(0);
    let s1 = i32x4.splat(0);
    for (let j = 0; j < 4; j++) {
      const q = blk + 16 + (<usize>j << 5);
      const q0 = v128.load(q);
      const q1 = v128.load(q, 16);
      const lo = v128.shuffle<i16>(cur, cur, 0, 0, 0, 0, 0, 0, 0, 0);
      const hi = v128.shuffle<i16>(cur, cur, 1, 1, 1, 1, 1, 1, 1, 1);
      const off = (<usize>b << 8) + (<usize>j << 6);
      s0 = i32x4.add(s0, i32x4.add(
        i32x4.dot_i16x8_s(q4Sub(q0, q1, 0, a0 + off, m), lo),
        i32x4.dot_i16x8_s(q4Sub(q0, q1, 4, a0 + off + 32, m), hi),
      ));
      s1 = i32x4.add(s1, i32x4.add(
        i32x4.dot_i16x8_s(q4Sub(q0, q1, 0, a1 + off, m), lo),
        i32x4.dot_i16x8_s(q4Sub(q0, q1, 4, a1 + off + 32, m), hi),
      ));
      cur = v128.shuffle<i32>(cur, cur, 1, 2, 3, 0);
    }
    const ad0 = a0 + <usize>n;
    const ad1 = a1 + <usize>n;
    const bo = <usize>nb << 2;
    acc0 = f32x4.add(acc0, q4Finish(blk, s0, sm, ad0 + bo + (<usize>b << 5), load<f32>(ad0 + (<usize>b << 2))));
    acc1 = f32x4.add(acc1, q4Finish(blk, s1, sm, ad1 + bo + (<usize>b << 5), load<f32>(ad1 + (<usize>b << 2))));
  }
  return f32x4.replace_lane(f32x4.splat(hsum(acc0)), 1, hsum(acc1));
}

/** Q4_K: sub-blocks 2j and 2j + 1 (the 32 bytes at `q`, activation at `qa`) scaled by i16 lanes 0 and 1 of `sc`. */
@inline
function q4Pair(q: usize, qa: usize, sc: v128, m: v128): v128 {
  const q0 = v128.load(q);
  const q1 = v128.load(q, 16);
  return i32x4.add(
    i32x4.dot_i16x8_s(q4Sub(q0, q1, 0, qa, m), v128.shuffle<i16>(sc, sc, 0, 0, 0, 0, 0, 0, 0, 0)),
    i32x4.dot_i16x8_s(q4Sub(q0, q1, 4, qa + 32, m), v128.shuffle<i16>(sc, sc, 1, 1, 1, 1, 1, 1, 1, 1)),
  );
}

/** Q5_K: as {@link q4Pair}, with the high bits of sub-blocks 2j and 2j + 1 in bits 2j, 2j+1 of `h0`/`h1`. */
@inline
function q5Pair(q: usize, h0: v128, h1: v128, qa: usize, sc: v128, j: i32): v128 {
  const m4 = i8x16.splat(0x0f);
  const b4 = i8x16.splat(0x10);
  const q0 = v128.load(q);
  const q1 = v128.load(q, 16);
  // Bit 2j of the qh byte to bit 4 (low nibbles), bit 2j + 1 to bit 4 (high nibbles).
  const l0 = v128.or(v128.and(q0, m4), v128.and(j < 2 ? i8x16.shl(h0, 4 - 2 * j) : i8x16.shr_u(h0, 2 * j - 4), b4));
  const l1 = v128.or(v128.and(q1, m4), v128.and(j < 2 ? i8x16.shl(h1, 4 - 2 * j) : i8x16.shr_u(h1, 2 * j - 4), b4));
  const u0 = v128.or(i8x16.shr_u(q0, 4), v128.and(j < 2 ? i8x16.shl(h0, 3 - 2 * j) : i8x16.shr_u(h0, 2 * j - 3), b4));
  const u1 = v128.or(i8x16.shr_u(q1, 4), v128.and(j < 2 ? i8x16.shl(h1, 3 - 2 * j) : i8x16.shr_u(h1, 2 * j - 3), b4));
  // |q·a| ≤ 31·127: four products a lane fit in i16.
  const lo = i16x8.add(mac(l0, v128.load(qa)), mac(l1, v128.load(qa, 16)));
  const hi = i16x8.add(mac(u0, v128.load(qa, 32)), mac(u1, v128.load(qa, 48)));
  return i32x4.add(i32x4.dot_i16x8_s(lo, bcast(sc, 2 * j)), i32x4.dot_i16x8_s(hi, bcast(sc, 2 * j + 1)));
}

/**
 * Q5_K row (GGUF block_q5_K, 176 bytes per 256 elements): f16 `d` at byte 0, f16 `dmin` at 2, 12
 * bytes of packed 6-bit scales and mins at 4 (as Q4_K), 32 bytes `qh` at 16 (bit s of byte l: the
 * fifth bit of element l of sub-block s), 128 bytes of nibbles at 48 (as Q4_K's). Element value
 * `d·sc·(nibble + 16·bit) − dmin·m`; the mins term uses the activation's bsums.
 */
export function dotQ5_K(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  const abs = ad + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 176;
    const qa = a + (<usize>b << 8);
    const yd = load<f32>(ad + (<usize>b << 2));
    const d = yd * f16ToF32(<u32>load<u16>(blk));
    const dmin = yd * f16ToF32(<u32>load<u16>(blk, 2));
    const sm = scalesMinsK4(blk + 4);
    const sc = i16x8.extend_low_i8x16_u(sm);
    const mins = bsumPairsDot(abs + (<usize>b << 5), i16x8.extend_high_i8x16_u(sm));
    const h0 = v128.load(blk, 16);
    const h1 = v128.load(blk, 32);
    const q = blk + 48;
    const s = i32x4.add(
      i32x4.add(q5Pair(q, h0, h1, qa, sc, 0), q5Pair(q + 32, h0, h1, qa + 64, sc, 1)),
      i32x4.add(q5Pair(q + 64, h0, h1, qa + 128, sc, 2), q5Pair(q + 96, h0, h1, qa + 192, sc, 3)),
    );
    acc = f32x4.add(acc, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)), f32x4.mul(f32x4.convert_i32x4_s(mins), f32x4.splat(dmin))));
  }
  return hsum(acc);
}

/** One Q5_K super-block at `blk` against the Q8_K values at `qa`: its four pairs' i32 sums. */
@inline
function q5Block(blk: usize, qa: usize, sc: v128): v128 {
  const h0 = v128.load(blk, 16);
  const h1 = v128.load(blk, 32);
  const q = blk + 48;
  return i32x4.add(
    i32x4.add(q5Pair(q, h0, h1, qa, sc, 0), q5Pair(q + 32, h0, h1, qa + 64, sc, 1)),
    i32x4.add(q5Pair(q + 64, h0, h1, qa + 128, sc, 2), q5Pair(q + 96, h0, h1, qa + 192, sc, 3)),
  );
}

/** One Q5_K row dotted with two Q8_K rows (`a0`, `a1`), its bits unpacked once; lanes 0, 1. */
export function dotQ5_K2Tokens(w: usize, a0: usize, a1: usize, n: i32): v128 {
  const nb = n >> 8;
  const bo = <usize>nb << 2;
  const ad0 = a0 + <usize>n;
  const ad1 = a1 + <usize>n;
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 176;
    const sm = scalesMinsK4(blk + 4);
    const sc = i16x8.extend_low_i8x16_u(sm);
    const off = <usize>b << 8;
    const s0 = q5Block(blk, a0 + off, sc);
    const s1 = q5Block(blk, a1 + off, sc);
    acc0 = f32x4.add(acc0, q4Finish(blk, s0, sm, ad0 + bo + (<usize>b << 5), load<f32>(ad0 + (<usize>b << 2))));
    acc1 = f32x4.add(acc1, q4Finish(blk, s1, sm, ad1 + bo + (<usize>b << 5), load<f32>(ad1 + (<usize>b << 2))));
  }
  return f32x4.replace_lane(f32x4.splat(hsum(acc0)), 1, hsum(acc1));
}

/** Σ q·a over 16 lanes as eight i16 lanes (q unsigned, |q·a| ≤ 63·127), even and odd bytes apart. */
@inline
function mulPairs(q: v128, a: v128, mff: v128): v128 {
  return i16x8.add(i16x8.mul(v128.and(q, mff), even8(a)), i16x8.mul(i16x8.shr_u(q, 8), odd8(a)));
}

/**
 * Q6_K: 16 consecutive `l` of one 128-element half (`ql`, `qh` and the activation at `qa` already
 * offset by `l0` ∈ {0, 16}), i.e. 64 elements in four sub-blocks of 16 (chunks c = 0..3, at
 * `qa + 32c`), scaled by i16 lane 2c of `sc`. Weights are q6 unsigned (0..63); the
 * −32 is taken through the bsums.
 */
@inline
function q6Quarter(ql: usize, qh: usize, qa: usize, sc: v128, m0f: v128, m30: v128, mff: v128): v128 {
  const L0 = v128.load(ql);
  const L1 = v128.load(ql, 32);
  const H = v128.load(qh);
  // i16 shifts with byte masks: the bits a shift carries across bytes are masked off.
  const q0 = v128.or(v128.and(L0, m0f), v128.and(i16x8.shl(H, 4), m30));
  const q1 = v128.or(v128.and(L1, m0f), v128.and(i16x8.shl(H, 2), m30));
  const q2 = v128.or(v128.and(i16x8.shr_u(L0, 4), m0f), v128.and(H, m30));
  const q3 = v128.or(v128.and(i16x8.shr_u(L1, 4), m0f), v128.and(i16x8.shr_u(H, 2), m30));
  return i32x4.add(
    i32x4.add(
      i32x4.dot_i16x8_s(mulPairs(q0, v128.load(qa), mff), v128.shuffle<i16>(sc, sc, 0, 0, 0, 0, 0, 0, 0, 0)),
      i32x4.dot_i16x8_s(mulPairs(q1, v128.load(qa, 32), mff), v128.shuffle<i16>(sc, sc, 2, 2, 2, 2, 2, 2, 2, 2)),
    ),
    i32x4.add(
      i32x4.dot_i16x8_s(mulPairs(q2, v128.load(qa, 64), mff), v128.shuffle<i16>(sc, sc, 4, 4, 4, 4, 4, 4, 4, 4)),
      i32x4.dot_i16x8_s(mulPairs(q3, v128.load(qa, 96), mff), v128.shuffle<i16>(sc, sc, 6, 6, 6, 6, 6, 6, 6, 6)),
    ),
  );
}

/**
 * Q6_K row (GGUF block_q6_K, 210 bytes per 256 elements): 128 bytes `ql` (low 4 bits) at byte 0,
 * 64 bytes `qh` (high 2 bits) at 128, 16 int8 sub-block scales at 192, f16 `d` at 208. In half h
 * (elements 128h..), for l < 32 elements l, l+32, l+64, l+96 take the low nibble of ql[64h+l], the
 * low of ql[64h+l+32], the high of ql[64h+l], the high of ql[64h+l+32], and bits 0–1, 2–3, 4–5,
 * 6–7 of qh[32h+l]. Element value `d·sc[s]·(q − 32)` over 16 sub-blocks s of 16 elements.
 */
export function dotQ6_K(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  const abs = ad + (<usize>nb << 2);
  const mff = v128.load(MASKS, 16);
  const m0f = v128.load(MASKS, 32);
  const m30 = v128.load(MASKS, 48);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 210;
    const qa = a + (<usize>b << 8);
    const scv = v128.load(blk, 192);
    const sc0 = i16x8.extend_low_i8x16_s(scv);
    const sc1 = i16x8.extend_high_i8x16_s(scv);
    // A loop over the four quarters (unrolled, V8 hoists every load and spills); quarter i's
    // scales are i16 lanes 0, 2, 4, 6 of `cur`.
    let s = i32x4.splat(0);
    let cur = sc0;
    for (let i = 0; i < 4; i++) {
      const h = <usize>(i >> 1);
      const l0 = <usize>(i & 1) << 4;
      s = i32x4.add(s, q6Quarter(blk + (h << 6) + l0, blk + 128 + (h << 5) + l0, qa + (h << 7) + l0, cur, m0f, m30, mff));
      cur = (i & 1) == 0 ? v128.shuffle<i16>(cur, cur, 1, 1, 3, 3, 5, 5, 7, 7) : sc1;
    }
    const bs = abs + (<usize>b << 5);
    const corr = i32x4.add(i32x4.dot_i16x8_s(v128.load(bs), sc0), i32x4.dot_i16x8_s(v128.load(bs, 16), sc1));
    const d = load<f32>(ad + (<usize>b << 2)) * f16ToF32(<u32>load<u16>(blk, 208));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(s, i32x4.shl(corr, 5))), f32x4.splat(d)));
  }
  return hsum(acc);
}

/**
 * Q2_K/Q3_K: the 128 elements of half `qs` (32 bytes) with 2-bit field j, sub-blocks `base + 2j`
 * and `+ 1` of 16 elements each, as i32 lanes scaled by the i16 scales in `sc` (lanes `base`..).
 * Q3_K passes its `hmask` bytes: a clear bit 4h + j subtracts 4.
 */
@inline
function lowBitField(q0: v128, q1: v128, hm0: v128, hm1: v128, q3: bool, bit: i32, qa: usize, sc: v128, k: i32, j: i32): v128 {
  const m3 = i8x16.splat(3);
  let v0 = v128.and(i8x16.shr_u(q0, 2 * j), m3);
  let v1 = v128.and(i8x16.shr_u(q1, 2 * j), m3);
  if (q3) {
    const one: i32 = 1 << bit;
    const mask = i8x16.splat(<i8>one);
    const four = i8x16.splat(4);
    v0 = i8x16.sub(v0, v128.andnot(four, i8x16.eq(v128.and(hm0, mask), mask)));
    v1 = i8x16.sub(v1, v128.andnot(four, i8x16.eq(v128.and(hm1, mask), mask)));
  }
  return i32x4.add(
    i32x4.dot_i16x8_s(mac(v0, v128.load(qa)), bcast(sc, k)),
    i32x4.dot_i16x8_s(mac(v1, v128.load(qa, 16)), bcast(sc, k + 1)),
  );
}

/** Q2_K/Q3_K: one half (128 elements) of a super-block; `sc` holds its eight i16 scales. */
@inline
function lowBitHalf(qs: usize, hm: usize, q3: bool, h: i32, qa: usize, sc: v128): v128 {
  const q0 = v128.load(qs);
  const q1 = v128.load(qs, 16);
  const hm0 = q3 ? v128.load(hm) : i8x16.splat(0);
  const hm1 = q3 ? v128.load(hm, 16) : i8x16.splat(0);
  return i32x4.add(
    i32x4.add(
      lowBitField(q0, q1, hm0, hm1, q3, 4 * h, qa, sc, 0, 0),
      lowBitField(q0, q1, hm0, hm1, q3, 4 * h + 1, qa + 32, sc, 2, 1),
    ),
    i32x4.add(
      lowBitField(q0, q1, hm0, hm1, q3, 4 * h + 2, qa + 64, sc, 4, 2),
      lowBitField(q0, q1, hm0, hm1, q3, 4 * h + 3, qa + 96, sc, 6, 3),
    ),
  );
}

/**
 * Q2_K row (GGUF block_q2_K, 84 bytes per 256 elements): 16 bytes of sub-block scales at byte 0
 * (low nibble scale, high nibble min), 64 bytes of 2-bit quants at 16, f16 `d` at 80, f16 `dmin`
 * at 82. Element 128h + 32j + l (l < 32) is bits 2j..2j+1 of qs[32h + l], in sub-block
 * 8h + 2j + (l ≥ 16); value `d·sc·q − dmin·m`, the mins term through the activation's bsums.
 */
export function dotQ2_K(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  const abs = ad + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 84;
    const qa = a + (<usize>b << 8);
    const yd = load<f32>(ad + (<usize>b << 2));
    const d = yd * f16ToF32(<u32>load<u16>(blk, 80));
    const dmin = yd * f16ToF32(<u32>load<u16>(blk, 82));
    const scm = v128.load(blk);
    const sc = v128.and(scm, i8x16.splat(0x0f));
    const m = i8x16.shr_u(scm, 4);
    const bs = abs + (<usize>b << 5);
    const mins = i32x4.add(
      i32x4.dot_i16x8_s(v128.load(bs), i16x8.extend_low_i8x16_u(m)),
      i32x4.dot_i16x8_s(v128.load(bs, 16), i16x8.extend_high_i8x16_u(m)),
    );
    const s = i32x4.add(
      lowBitHalf(blk + 16, 0, false, 0, qa, i16x8.extend_low_i8x16_u(sc)),
      lowBitHalf(blk + 48, 0, false, 1, qa + 128, i16x8.extend_high_i8x16_u(sc)),
    );
    acc = f32x4.add(acc, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)), f32x4.mul(f32x4.convert_i32x4_s(mins), f32x4.splat(dmin))));
  }
  return hsum(acc);
}

/**
 * Q3_K row (GGUF block_q3_K, 110 bytes per 256 elements): 32 bytes `hmask` at byte 0, 64 bytes of
 * low 2-bit quants at 32, 12 bytes of packed 6-bit scales at 96, f16 `d` at 108. Element
 * 128h + 32j + l (l < 32) takes bits 2j..2j+1 of qs[32h + l] and, as its high bit, bit 4h + j of
 * hmask[l]; value `d·(sc − 32)·(q − 4·!high)` with the scale of sub-block 8h + 2j + (l ≥ 16).
 */
export function dotQ3_K(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 110;
    const qa = a + (<usize>b << 8);
    const d = load<f32>(ad + (<usize>b << 2)) * f16ToF32(<u32>load<u16>(blk, 108));
    // The 16 6-bit scales as ggml unpacks them (kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f).
    const u0 = load<u32>(blk, 96);
    const u1 = load<u32>(blk, 100);
    const t = load<u32>(blk, 104);
    const s03 = (u0 & 0x0f0f0f0f) | ((t & 0x03030303) << 4);
    const s47 = (u1 & 0x0f0f0f0f) | (((t >> 2) & 0x03030303) << 4);
    const s8b = ((u0 >> 4) & 0x0f0f0f0f) | (((t >> 4) & 0x03030303) << 4);
    const scf = ((u1 >> 4) & 0x0f0f0f0f) | (((t >> 6) & 0x03030303) << 4);
    const scv = i8x16.sub(
      i64x2.replace_lane(i64x2.splat(<i64>s03 | (<i64>s47 << 32)), 1, <i64>s8b | (<i64>scf << 32)),
      i8x16.splat(32),
    );
    const s = i32x4.add(
      lowBitHalf(blk + 32, blk, true, 0, qa, i16x8.extend_low_i8x16_s(scv)),
      lowBitHalf(blk + 64, blk, true, 1, qa + 128, i16x8.extend_high_i8x16_s(scv)),
    );
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)));
  }
  return hsum(acc);
}

/** IQ4_XS: sub-block `s` (16 bytes of indices at `q`, activation at `qa`) with the levels in `lv`. */
@inline
function iq4Sub(q: usize, qa: usize, lv: v128, sc: v128, s: i32): v128 {
  const x = v128.load(q);
  const lo = i8x16.swizzle(lv, v128.and(x, i8x16.splat(0x0f)));
  const hi = i8x16.swizzle(lv, i8x16.shr_u(x, 4));
  // |level·a| ≤ 127·127: only a pair of products fits an i16 lane.
  const k = bcast(sc, s);
  return i32x4.add(i32x4.dot_i16x8_s(mac(lo, v128.load(qa)), k), i32x4.dot_i16x8_s(mac(hi, v128.load(qa, 16)), k));
}

/**
 * IQ4_XS row (GGUF block_iq4_xs, 136 bytes per 256 elements): f16 `d` at byte 0, u16 `scales_h`
 * at 2, 4 bytes `scales_l` at 4, 128 bytes of 4-bit indices at 8, 16 per sub-block of 32 (byte e:
 * element e in the low nibble, e + 16 in the high one). Sub-block s has the scale
 * `ls = nibble s of scales_l | bits 2s..2s+1 of scales_h << 4`; element value
 * `d·(ls − 32)·kvalues_iq4nl[index]`.
 */
export function dotIQ4_XS(w: usize, a: usize, n: i32): f32 {
  const nb = n >> 8;
  const ad = a + <usize>n;
  const lv = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = w + <usize>b * 136;
    const qa = a + (<usize>b << 8);
    const d = load<f32>(ad + (<usize>b << 2)) * f16ToF32(<u32>load<u16>(blk));
    const hs = <u64>load<u16>(blk, 2);
    const ls = <u64>load<u32>(blk, 4);
    // Nibbles of scales_l to bytes 0..7, then bits 2s..2s+1 of scales_h to bits 4..5 of byte s.
    let lo = (ls & 0xf) | ((ls & 0xf0) << 4) | ((ls & 0xf00) << 8) | ((ls & 0xf000) << 12);
    lo |= ((ls >> 16) & 0xf) << 32 | ((ls >> 20) & 0xf) << 40 | ((ls >> 24) & 0xf) << 48 | ((ls >> 28) & 0xf) << 56;
    let hb: u64 = 0;
    for (let s = 0; s < 8; s++) hb |= ((hs >> (2 * s)) & 3) << (8 * s + 4);
    const sc = i16x8.sub(i16x8.extend_low_i8x16_u(i64x2.splat(lo | hb)), i16x8.splat(32));
    const q = blk + 8;
    const s = i32x4.add(
      i32x4.add(
        i32x4.add(iq4Sub(q, qa, lv, sc, 0), iq4Sub(q + 16, qa + 32, lv, sc, 1)),
        i32x4.add(iq4Sub(q + 32, qa + 64, lv, sc, 2), iq4Sub(q + 48, qa + 96, lv, sc, 3)),
      ),
      i32x4.add(
        i32x4.add(iq4Sub(q + 64, qa + 128, lv, sc, 4), iq4Sub(q + 80, qa + 160, lv, sc, 5)),
        i32x4.add(iq4Sub(q + 96, qa + 192, lv, sc, 6), iq4Sub(q + 112, qa + 224, lv, sc, 7)),
      ),
    );
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)));
  }
  return hsum(acc);
}

/** Whether {@link dotK} has a kernel for GGML type `type`. */
export function kSupports(type: i32): bool {
  return type == Q4_K || type == Q6_K || type == Q5_K || type == Q2_K || type == Q3_K || type == IQ4_XS;
}

/**
 * One row of super-block type `type` (GGUF's block layout, `n/256` blocks from `w`) dotted with the
 * Q8_K row at `a`: Q2_K (10), Q3_K (11), Q4_K (12), Q5_K (13), Q6_K (14) or IQ4_XS (23).
 */
export function dotK(type: i32, w: usize, a: usize, n: i32): f32 {
  if (type == Q4_K) return dotQ4_K(w, a, n);
  if (type == Q6_K) return dotQ6_K(w, a, n);
  if (type == Q5_K) return dotQ5_K(w, a, n);
  if (type == Q2_K) return dotQ2_K(w, a, n);
  if (type == Q3_K) return dotQ3_K(w, a, n);
  if (type == IQ4_XS) return dotIQ4_XS(w, a, n);
  unreachable();
  return 0;
}
