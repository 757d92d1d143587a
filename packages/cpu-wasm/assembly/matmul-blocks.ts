// Matmuls of the block types kept in GGUF's byte layout: a row-by-row loop over each type's dot
// product with a prepared activation row; Q4_K takes two rows (a decode) or two tokens (a batch)
// at once, Q5_K two tokens.

import { dotK, dotQ4_K2Rows, dotQ4_K2Tokens, dotQ5_K2Tokens, kSupports } from './dot-k';
import { dotLegacy, legacySupports } from './dot-legacy';
import { TOUCH_AHEAD } from './common';

/** Whether {@link matmulBlocks} has a kernel for GGML type `type`. */
export function blocksSupport(type: i32): bool {
  return legacySupports(type) || kSupports(type);
}

/** One weight row of `type` at `w` (`n` elements) dotted with the prepared row at `a`. */
@inline
function dotRow(type: i32, w: usize, a: usize, n: i32): f32 {
  return kSupports(type) ? dotK(type, w, a, n) : dotLegacy(type, w, a, n);
}

/** `out[t·outStride + r] (+)= W[r] · act[t]` for rows `[r0, r1)` of a block-type weight. */
export function matmulBlocks(
  type: i32,
  w: usize,
  rowBytes: i32,
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
  // Each row first touches every line of the row `ahead` rows on (about 4.5 KiB), so those lines
  // are on their way while this row computes (common.ts's TOUCH_AHEAD: wasm has no prefetch).
  const ahead = (<i32>TOUCH_AHEAD + rowBytes - 1) / rowBytes;
  let sink: u32 = 0;
  if (type == Q4_K || type == Q5_K) {
    sink = matmulPairs(type, w, rowBytes, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate, ahead);
    if (sink == 0xffffffff) unreachable();
    return;
  }
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * <usize>rowBytes;
    if (r + ahead < r1) sink ^= touchRow(wr + <usize>ahead * <usize>rowBytes, rowBytes);
    for (let t = 0; t < T; t++) {
      const v = dotRow(type, wr, act + <usize>t * <usize>actRowBytes, cols);
      put(out + ((<usize>t * <usize>outStride + <usize>r) << 2), v, accumulate);
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}

const Q4_K: i32 = 12;
const Q5_K: i32 = 13;

/** One row of Q4_K or Q5_K against two activation rows: lanes 0 and 1. */
@inline
function twoTokens(type: i32, w: usize, a0: usize, a1: usize, n: i32): v128 {
  return type == Q4_K ? dotQ4_K2Tokens(w, a0, a1, n) : dotQ5_K2Tokens(w, a0, a1, n);
}

/** Touches every line of the `rowBytes` bytes at `p`; the bytes, xored. */
@inline
function touchRow(p: usize, rowBytes: i32): u32 {
  let sink: u32 = 0;
  for (let o = 0; o < rowBytes; o += 48) sink ^= load<u8>(p + <usize>o);
  return sink;
}

/** Stores (or adds) `v` at `o`. */
@inline
function put(o: usize, v: f32, accumulate: bool): void {
  store<f32>(o, accumulate ? load<f32>(o) + v : v);
}

/**
 * {@link matmulBlocks} for Q4_K and Q5_K: a Q4_K decode takes two rows far apart at once (two
 * weight streams, the activation split once for both; Q5_K's kernel is bound by its arithmetic,
 * and gained nothing); a batch takes each row's tokens two at a time (its bits unpacked once for
 * both). Returns the touches' xor.
 */
function matmulPairs(
  type: i32,
  w: usize,
  rowBytes: i32,
  r0: i32,
  r1: i32,
  cols: i32,
  act: usize,
  actRowBytes: i32,
  T: i32,
  out: usize,
  outStride: i32,
  accumulate: bool,
  ahead: i32,
): u32 {
  let sink: u32 = 0;
  const rb = <usize>rowBytes;
  if (T == 1 && type == Q4_K) {
    const half = (r1 - r0) >> 1;
    for (let i = 0; i < half; i++) {
      const ra = r0 + i;
      const rc = ra + half;
      const wa = w + <usize>ra * rb;
      const wc = w + <usize>rc * rb;
      if (i + ahead < half) {
        sink ^= touchRow(wa + <usize>ahead * rb, rowBytes) ^ touchRow(wc + <usize>ahead * rb, rowBytes);
      }
      const v = dotQ4_K2Rows(wa, wc, act, cols);
      put(out + (<usize>ra << 2), f32x4.extract_lane(v, 0), accumulate);
      put(out + (<usize>rc << 2), f32x4.extract_lane(v, 1), accumulate);
    }
    for (let r = r0 + 2 * half; r < r1; r++) {
      put(out + (<usize>r << 2), dotK(type, w + <usize>r * rb, act, cols), accumulate);
    }
    return sink;
  }
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rb;
    if (r + ahead < r1) sink ^= touchRow(wr + <usize>ahead * rb, rowBytes);
    let t = 0;
    for (; t + 2 <= T; t += 2) {
      const a = act + <usize>t * <usize>actRowBytes;
      const v = twoTokens(type, wr, a, a + <usize>actRowBytes, cols);
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      put(o, f32x4.extract_lane(v, 0), accumulate);
      put(o + (<usize>outStride << 2), f32x4.extract_lane(v, 1), accumulate);
    }
    for (; t < T; t++) {
      const v = dotK(type, wr, act + <usize>t * <usize>actRowBytes, cols);
      put(out + ((<usize>t * <usize>outStride + <usize>r) << 2), v, accumulate);
    }
  }
  return sink;
}
