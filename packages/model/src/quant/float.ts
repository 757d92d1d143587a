/**
 * Kernels for the unquantized types, one element per "block":
 * F32 (4 bytes, IEEE binary32 little-endian), F16 (2 bytes, IEEE binary16 little-endian),
 * BF16 (2 bytes, the upper half of a binary32, little-endian).
 */

import { bitsView, putU16 } from './common.js';
import { f16Table32, f32BitsToBf16, f32BitsToF16 } from './half.js';

// Scratch pair for reinterpreting assembled bytes as binary32.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

// One-entry cache of a Float32Array over the whole buffer a row lives in, so aligned F32 rows
// are read without allocating on every call.
let cachedBuffer: ArrayBufferLike | undefined;
let cachedF32: Float32Array = new Float32Array(0);

function f32ViewOf(buffer: ArrayBufferLike): Float32Array {
  if (buffer !== cachedBuffer) {
    cachedF32 = new Float32Array(buffer, 0, buffer.byteLength >>> 2);
    cachedBuffer = buffer;
  }
  return cachedF32;
}

/** Copies n F32 elements bit for bit (NaN payloads included). */
export function dequantizeF32(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  n: number,
): void {
  const out = new Uint8Array(dst.buffer, dst.byteOffset + dstOffset * 4, n * 4);
  out.set(src.subarray(srcOffset, srcOffset + n * 4));
}

/** Dot of the n elements at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotF32(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  n: number,
): number {
  const byteStart = src.byteOffset + srcOffset;
  let sum = 0;
  if ((byteStart & 3) === 0) {
    const a = f32ViewOf(src.buffer);
    const base = byteStart >>> 2;
    if (base + n <= a.length) {
      for (let i = 0; i < n; i++) sum += (a[base + i] as number) * (x[xOffset + i] as number);
      return sum;
    }
  }
  let o = srcOffset;
  for (let i = 0; i < n; i++, o += 4) {
    scratchU32[0] =
      (src[o] as number) |
      ((src[o + 1] as number) << 8) |
      ((src[o + 2] as number) << 16) |
      ((src[o + 3] as number) << 24);
    sum += (scratchF32[0] as number) * (x[xOffset + i] as number);
  }
  return sum;
}

/** Copies n binary32 values into dst as F32 bytes, bit for bit. */
export function quantizeF32(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  n: number,
): void {
  const bytes = new Uint8Array(src.buffer, src.byteOffset + srcOffset * 4, n * 4);
  dst.set(bytes, dstOffset);
}

/** Decodes n elements from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeF16(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  n: number,
): void {
  // Copy table bits, not numbers, so NaN payloads survive exactly as ggml produces them.
  const table = bitsView(f16Table32());
  const out = bitsView(dst);
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) {
    out[dstOffset + i] = table[(src[o] as number) | ((src[o + 1] as number) << 8)] as number;
  }
}

/** Dot of the n elements at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotF16(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  n: number,
): number {
  const table = f16Table32();
  let sum = 0;
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) {
    const h = (src[o] as number) | ((src[o + 1] as number) << 8);
    sum += (table[h] as number) * (x[xOffset + i] as number);
  }
  return sum;
}

/** Encodes n elements of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeF16(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  n: number,
): void {
  const bits = bitsView(src);
  for (let i = 0; i < n; i++) {
    putU16(dst, dstOffset + 2 * i, f32BitsToF16(bits[srcOffset + i] as number));
  }
}

/** Decodes n elements from byte `srcOffset` into dst[dstOffset..], bit for bit as ggml. */
export function dequantizeBf16(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  n: number,
): void {
  const out = bitsView(dst);
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) {
    out[dstOffset + i] = ((src[o] as number) << 16) | ((src[o + 1] as number) << 24);
  }
}

/** Dot of the n elements at byte `srcOffset` with x[xOffset..], decoded inline. */
export function dotBf16(
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  n: number,
): number {
  let sum = 0;
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) {
    scratchU32[0] = ((src[o] as number) << 16) | ((src[o + 1] as number) << 24);
    sum += (scratchF32[0] as number) * (x[xOffset + i] as number);
  }
  return sum;
}

/** Encodes n elements of src[srcOffset..] into dst at byte `dstOffset`, as ggml. */
export function quantizeBf16(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  n: number,
): void {
  const bits = bitsView(src);
  for (let i = 0; i < n; i++) {
    putU16(dst, dstOffset + 2 * i, f32BitsToBf16(bits[srcOffset + i] as number));
  }
}
