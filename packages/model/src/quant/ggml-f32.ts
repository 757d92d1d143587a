const { fround } = Math;

// ---------------------------------------------------------------------------------------------
// Binary32 arithmetic helpers.

/**
 * fmaf(a, b, c) for binary32 a, b, c whose product is exact in a double (it is for every call here:
 * at most 48 significant bits). The double sum is correctly rounded; rounding it again to binary32
 * can only go wrong when it lands exactly on a binary32 midpoint, which is then resolved by the
 * sign of the sum's rounding error (TwoSum).
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = fround(s);
  if (r === s) return r;
  // `other` is the binary32 on the far side of s exactly when s is a midpoint.
  const other = 2 * s - r;
  if (fround(other) !== other || r - r !== 0) return r;
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  return err > 0 === other > r ? other : r;
}

/** hsum_float_8 (arch/x86/quants.c): ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)) in binary32. */
export function hsum8(
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
  a6: number,
  a7: number,
): number {
  return fround(
    fround(fround(a0 + a4) + fround(a2 + a6)) + fround(fround(a1 + a5) + fround(a3 + a7)),
  );
}

/** {@link hsum8} of lanes[0..8). */
export function hsumLanes(a: Float64Array): number {
  return hsum8(
    a[0] as number,
    a[1] as number,
    a[2] as number,
    a[3] as number,
    a[4] as number,
    a[5] as number,
    a[6] as number,
    a[7] as number,
  );
}

// Lane accumulators and per-lane integer sums shared by the kernels (single-threaded, never
// re-entered), so no kernel allocates.
export const lanes = new Float64Array(8);
export const lanes32 = new Float64Array(32);
export const laneSums = new Int32Array(8);
/** Per-block combined scales of the row being dotted (grown by prepareActivations). */
let blockScales = new Float64Array(0);

/** {@link blockScales} with room for nb blocks (allocates only if prepareActivations did not). */
export function scalesFor(nb: number): Float64Array {
  if (blockScales.length < nb) blockScales = new Float64Array(nb);
  return blockScales;
}

let bf16Table: Float32Array | undefined;

/** The 65,536-entry bf16 → f32 table (built on first use). */
export function bf16Table32(): Float32Array {
  if (bf16Table === undefined) {
    const table = new Float32Array(65536);
    const bits = new Uint32Array(table.buffer);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
    bf16Table = table;
  }
  return bf16Table;
}

// The last view over a weight buffer (a matrix is one buffer, so consecutive rows hit it). A matmul
// lets go of them when it ends (`releaseWeightViews`), so they never keep a model's weights alive
// after its executor is gone.
let int8Buffer: ArrayBufferLike | undefined;
let int8View: Int8Array = new Int8Array(0);
export function int8ViewOf(buffer: ArrayBufferLike): Int8Array {
  if (buffer !== int8Buffer) {
    int8View = new Int8Array(buffer);
    int8Buffer = buffer;
  }
  return int8View;
}

let f32Buffer: ArrayBufferLike | undefined;
let f32View: Float32Array = new Float32Array(0);
export function f32ViewOf(buffer: ArrayBufferLike): Float32Array {
  if (buffer !== f32Buffer) {
    f32View = new Float32Array(buffer, 0, buffer.byteLength >>> 2);
    f32Buffer = buffer;
  }
  return f32View;
}

/** Drops the cached views over the last weight buffers (call when a matmul is done with them). */
export function releaseWeightViews(): void {
  int8Buffer = undefined;
  int8View = new Int8Array(0);
  f32Buffer = undefined;
  f32View = new Float32Array(0);
}

/** An empty view, for rows read byte by byte. */
export const NO_F32_VIEW = new Float32Array(0);
export const scratchF32 = new Float32Array(1);
export const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The little-endian binary32 at byte `o` of `b` (any alignment). */
export function loadF32(b: Uint8Array, o: number): number {
  scratchU32[0] =
    (b[o] as number) |
    ((b[o + 1] as number) << 8) |
    ((b[o + 2] as number) << 16) |
    ((b[o + 3] as number) << 24);
  return scratchF32[0] as number;
}
