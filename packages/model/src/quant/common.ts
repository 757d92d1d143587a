/** Shared helpers for the quantization kernels: C float semantics and byte access. */

// Scratch pair for ggml's nearest_int bit trick.
const nearestF32 = new Float32Array(1);
const nearestI32 = new Int32Array(nearestF32.buffer);

/**
 * ggml's `nearest_int`: adds 1.5·2²³ in binary32 so the integer lands in the low mantissa bits
 * (round half to even for |fval| ≤ 4194303), then reads it back from the bit pattern.
 */
export function nearestInt(fval: number): number {
  nearestF32[0] = fval + 12582912;
  return ((nearestI32[0] as number) & 0x007fffff) - 0x00400000;
}

/**
 * C's float → int conversion as x86-64 does it (`cvttss2si`): truncation toward zero, and the
 * "integer indefinite" value -2³¹ for NaN and out-of-range values.
 */
export function truncToInt32(x: number): number {
  if (!(x > -2147483649 && x < 2147483648)) return -2147483648;
  return Math.trunc(x) | 0;
}

/** C `roundf` on a binary32 value: half away from zero. */
export function roundf(x: number): number {
  const r = Math.floor(Math.abs(x) + 0.5);
  return x < 0 ? -r : r;
}

/** Little-endian u16 at `o`. */
export function u16At(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

/** Writes the low 16 bits of `v` little-endian at `o`. */
export function putU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

/** A Uint32Array over the same memory as a (4-byte aligned by construction) Float32Array. */
export function bitsView(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

const blockScratch = new Float32Array(256);

/**
 * Σ w·x over nb blocks of 256 decoded one at a time by `decode` (a dequantize of one block), for
 * the types whose f32 dot has no inline decoder (Q2_K, Q3_K).
 */
export function dotByBlocks(
  decode: (
    src: Uint8Array,
    srcOffset: number,
    dst: Float32Array,
    dstOffset: number,
    nb: number,
  ) => void,
  blockBytes: number,
  src: Uint8Array,
  srcOffset: number,
  x: Float32Array,
  xOffset: number,
  nb: number,
): number {
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    decode(src, srcOffset + b * blockBytes, blockScratch, 0, 1);
    const xb = xOffset + 256 * b;
    for (let i = 0; i < 256; i++) sum += (blockScratch[i] as number) * (x[xb + i] as number);
  }
  return sum;
}

/**
 * The 4-bit quant of element e (0..31) of a block whose 16 bytes of nibbles start at `qs` (byte j:
 * element j in the low nibble, j + 16 in the high one), as Q4_0, Q4_1, Q5_0 and Q5_1 store them.
 */
export function nibbleAt(src: Uint8Array, qs: number, e: number): number {
  const byte = src[qs + (e & 15)] as number;
  return e < 16 ? byte & 15 : byte >> 4;
}

/** The fifth bit of element e (0..31) from the 4 bytes of bits at `qh` (Q5_0, Q5_1). */
export function fifthBit(src: Uint8Array, qh: number, e: number): number {
  return ((src[qh + (e >> 3)] as number) >> (e & 7)) & 1;
}
