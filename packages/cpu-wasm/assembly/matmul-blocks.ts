// Matmuls of the block types kept in GGUF's byte layout: a row-by-row loop over each type's dot
// product with a prepared activation row.

import { dotK, kSupports } from './dot-k';
import { dotLegacy, legacySupports } from './dot-legacy';

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
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * <usize>rowBytes;
    for (let t = 0; t < T; t++) {
      const v = dotRow(type, wr, act + <usize>t * <usize>actRowBytes, cols);
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      store<f32>(o, accumulate ? load<f32>(o) + v : v);
    }
  }
}
