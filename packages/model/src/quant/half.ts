/**
 * IEEE binary16 (f16) and bfloat16 (bf16) conversions, bit-for-bit equal to ggml's
 * `ggml_compute_fp16_to_fp32`, `ggml_compute_fp32_to_fp16`, `ggml_compute_bf16_to_fp32` and
 * `ggml_compute_fp32_to_bf16` (ggml/src/ggml-impl.h).
 */

const { fround } = Math;

// Scratch pair for reinterpreting bits as binary32 and back.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The binary32 number whose bits are `bits`. */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0] as number;
}

/** The bits of `x` rounded to binary32 (a NaN may lose its payload in a JS number). */
export function f32ToBits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0] as number;
}

/**
 * The binary32 bit pattern ggml gives for the f16 `h`: exact for every finite value and infinity;
 * a NaN keeps its payload and gets the quiet bit, as the x86 multiply in ggml sets it.
 */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) {
    return (sign | 0x7f800000 | (mant << 13) | (mant !== 0 ? 0x400000 : 0)) >>> 0;
  }
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: normalise the mantissa into an f32 normal.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

let f16Table: Float32Array | undefined;

/**
 * The 65,536-entry f16 → f32 table (built on first use). Index it with the little-endian u16
 * `lo | (hi << 8)`; the dot and dequantize kernels read it directly.
 */
export function f16Table32(): Float32Array {
  if (f16Table === undefined) {
    const table = new Float32Array(65536);
    const bits = new Uint32Array(table.buffer);
    for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
    f16Table = table;
  }
  return f16Table;
}

/** The value of the f16 whose bits are `bits` (as ggml_compute_fp16_to_fp32). */
export function f16ToF32(bits: number): number {
  return f16Table32()[bits & 0xffff] as number;
}

const SCALE_TO_INF = 2 ** 112;
const SCALE_TO_ZERO = 2 ** -110;

/**
 * f16 bits of the binary32 whose bits are `w`: round to nearest even, overflow to infinity,
 * subnormals kept, every NaN → `sign | 0x7e00` (a port of ggml_compute_fp32_to_fp16).
 */
export function f32BitsToF16(w: number): number {
  w >>>= 0;
  const f = f32FromBits(w);
  let base = fround(fround(Math.abs(f) * SCALE_TO_INF) * SCALE_TO_ZERO);
  const shl1w = (w << 1) >>> 0;
  const sign = (w & 0x80000000) >>> 0;
  let bias = (shl1w & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  base = fround(f32FromBits((bias >>> 1) + 0x07800000) + base);
  const bits = f32ToBits(base);
  const expBits = (bits >>> 13) & 0x00007c00;
  const mantissaBits = bits & 0x00000fff;
  const nonsign = expBits + mantissaBits;
  return ((sign >>> 16) | (shl1w > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

/**
 * `x` rounded to binary32 then to f16 bits, round to nearest even (as ggml_compute_fp32_to_fp16).
 * A NaN argument gives the positive quiet NaN 0x7e00 (JS numbers do not carry a NaN's sign).
 */
export function f32ToF16(x: number): number {
  return f32BitsToF16(f32ToBits(x));
}

/** The value of the bf16 whose bits are `bits`: the upper half of a binary32. */
export function bf16ToF32(bits: number): number {
  return f32FromBits((bits & 0xffff) << 16);
}

/**
 * bf16 bits of the binary32 whose bits are `w`: round to nearest even; a NaN keeps its upper bits
 * and gets the quiet bit (a port of ggml_compute_fp32_to_bf16).
 */
export function f32BitsToBf16(w: number): number {
  w >>>= 0;
  if ((w & 0x7fffffff) > 0x7f800000) return ((w >>> 16) | 64) & 0xffff;
  return ((w + (0x7fff + ((w >>> 16) & 1))) >>> 16) & 0xffff;
}

/** `x` rounded to binary32 then to bf16 bits, as ggml_compute_fp32_to_bf16. */
export function f32ToBf16(x: number): number {
  return f32BitsToBf16(f32ToBits(x));
}
