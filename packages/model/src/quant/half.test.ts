import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';

/** The f16 value of `h` from its definition, independent of the kernel's table. */
function f16Reference(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

describe('f16', () => {
  it('decodes every f16 value exactly', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = f16Reference(h);
      const got = f16ToF32(h);
      if (Number.isNaN(want) ? !Number.isNaN(got) : !Object.is(got, want)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('round-trips every non-NaN f16 value', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      if (f32ToF16(f16ToF32(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds ties to even, in the normal and the subnormal range', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // halfway 1 → 1 + 2^-10: even is 1
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway → even 1 + 2^-9
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // half the smallest subnormal → 0
    expect(f32ToF16(1.5 * 2 ** -24)).toBe(0x0002); // 1.5 subnormal steps → 2
    expect(f32ToF16(2.5 * 2 ** -24)).toBe(0x0002); // 2.5 subnormal steps → 2
    expect(f32ToF16(-(2 ** -24))).toBe(0x8001);
  });

  it('overflows to infinity at 65520 and keeps signed zero, infinity and NaN', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(-1e10)).toBe(0xfc00);
    expect(f32ToF16(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(Number.NaN)).toBe(0x7e00);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
  });
});

describe('bf16', () => {
  it('decodes as the upper half of a binary32', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc040)).toBe(-3);
    expect(bf16ToF32(0x7f80)).toBe(Number.POSITIVE_INFINITY);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(bf16ToF32(0x0001)).toBe(2 ** -133);
  });

  it('rounds to nearest even and makes NaN quiet', () => {
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even
    expect(f32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds up to infinity
    expect(f32ToBf16(Number.NaN)).toBe(0x7fc0);
    expect(f32ToBf16(-0)).toBe(0x8000);
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0) continue;
      if (f32ToBf16(bf16ToF32(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});
