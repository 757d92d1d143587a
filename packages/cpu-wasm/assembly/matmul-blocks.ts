// Matmuls of the block types kept in GGUF's byte layout: a row-by-row loop over each type's dot
// product with a prepared activation row.

import { dotK, kSupports } from './dot-k';
import { dotLegacy, legacySupports } from './dot-legacy';

/** How far ahead (bytes) a row's touches reach: the rows starting about this far on. */
const TOUCH_AHEAD: i32 = 4608;

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
  // are on their way while this row computes (see matmul-q8.ts's AHEAD: wasm has no prefetch).
  const ahead = (TOUCH_AHEAD + rowBytes - 1) / rowBytes;
  let sink: u32 = 0;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * <usize>rowBytes;
    if (r + ahead < r1) {
      const next = wr + <usize>ahead * <usize>rowBytes;
      for (let o = 0; o < rowBytes; o += 48) sink ^= load<u8>(next + <usize>o);
    }
    for (let t = 0; t < T; t++) {
      const v = dotRow(type, wr, act + <usize>t * <usize>actRowBytes, cols);
      const o = out + ((<usize>t * <usize>outStride + <usize>r) << 2);
      store<f32>(o, accumulate ? load<f32>(o) + v : v);
    }
  }
  // Keep the touches: a load whose value is never used would be removed.
  if (sink == 0xffffffff) unreachable();
}
