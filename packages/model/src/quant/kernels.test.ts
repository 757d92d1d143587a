import { describe, expect, it } from 'vitest';
import { GgmlType, ggmlTypeTraits, UnsupportedTensorTypeError } from '../ggml-type.js';
import { dequantizeRow, dotRow, quantize, quantizeRow } from './index.js';

/** Deterministic LCG in [-1, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
}

/** n values of varying scale per 256 (some with an offset), near-gaussian. */
function sample(n: number, seed: number): Float32Array {
  const r = lcg(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const blk = i >> 8;
    x[i] = (r() + r() + r()) * (1 + (blk % 7)) + (blk % 3 === 0 ? 2 : 0);
  }
  return x;
}

const ALL = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as const;

function dequantize(type: number, data: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  dequantizeRow(type, data, 0, out, 0, n);
  return out;
}

describe('dotRow', () => {
  for (const name of ALL) {
    const type = GgmlType[name];
    it(`${name}: equals dequantize-then-dot at src offsets 0, 1, 3 and x offset 5`, () => {
      const n = 512;
      const stored = quantize(type, sample(n, 7));
      const deq = dequantize(type, stored, n);
      const x = new Float32Array(n + 9);
      const r = lcg(99);
      for (let i = 0; i < x.length; i++) x[i] = r();
      for (const srcOffset of [0, 1, 3]) {
        const buf = new Uint8Array(srcOffset + stored.length + 3);
        buf.set(stored, srcOffset);
        for (const xOffset of [0, 5]) {
          let want = 0;
          let mag = 0;
          for (let i = 0; i < n; i++) {
            const t = (deq[i] as number) * (x[xOffset + i] as number);
            want += t;
            mag += Math.abs(t);
          }
          const got = dotRow(type, buf, srcOffset, x, xOffset, n);
          expect(Math.abs(got - want), `offset ${srcOffset}/${xOffset}`).toBeLessThanOrEqual(
            1e-5 * mag,
          );
        }
      }
    });
  }

  it('reads an F32 row through a subarray view at an unaligned byte offset', () => {
    const values = new Float32Array([1.5, -2, 3.25, 4]);
    const backing = new Uint8Array(64);
    backing.set(new Uint8Array(values.buffer), 13);
    const view = backing.subarray(10); // row starts 3 bytes into the view, 13 into the buffer
    const x = new Float32Array([1, 1, 1, 1]);
    expect(dotRow(GgmlType.F32, view, 3, x, 0, 4)).toBe(6.75);
    const aligned = backing.subarray(8); // byte 13 - 8 = 5; shift the data to an aligned start
    aligned.set(new Uint8Array(values.buffer), 8);
    expect(dotRow(GgmlType.F32, aligned, 8, x, 0, 4)).toBe(6.75);
  });

  it('is zero for an empty row', () => {
    expect(dotRow(GgmlType.Q4_K, new Uint8Array(0), 0, new Float32Array(0), 0, 0)).toBe(0);
  });
});

describe('quantize / dequantize round trip', () => {
  const n = 256 * 64;
  const x = sample(n, 3);

  function roundTrip(type: number): Float32Array {
    return dequantize(type, quantize(type, x), n);
  }

  /** Largest |x - y| over [from, to). */
  function maxErr(y: Float32Array, from: number, to: number): number {
    let e = 0;
    for (let i = from; i < to; i++) e = Math.max(e, Math.abs((x[i] as number) - (y[i] as number)));
    return e;
  }
  function absMax(from: number, to: number): number {
    let m = 0;
    for (let i = from; i < to; i++) m = Math.max(m, Math.abs(x[i] as number));
    return m;
  }
  function relRms(y: Float32Array): number {
    let se = 0;
    let sx = 0;
    for (let i = 0; i < n; i++) {
      se += ((x[i] as number) - (y[i] as number)) ** 2;
      sx += (x[i] as number) ** 2;
    }
    return Math.sqrt(se / sx);
  }

  it('F32 is exact, bit for bit (NaN payloads included)', () => {
    const special = new Float32Array([0, -0, 1e-45, Number.NaN, Number.POSITIVE_INFINITY, -3.5]);
    new Uint32Array(special.buffer)[3] = 0x7fa00001; // a signalling NaN with a payload
    const y = dequantize(GgmlType.F32, quantize(GgmlType.F32, special), special.length);
    expect([...new Uint32Array(y.buffer)]).toEqual([...new Uint32Array(special.buffer)]);
    expect([...roundTrip(GgmlType.F32)]).toEqual([...x]);
  });

  it('F16 error ≤ |x|·2⁻¹¹, BF16 error ≤ |x|·2⁻⁸', () => {
    const f16 = roundTrip(GgmlType.F16);
    const bf16 = roundTrip(GgmlType.BF16);
    for (let i = 0; i < n; i++) {
      const v = Math.abs(x[i] as number);
      expect(Math.abs((x[i] as number) - (f16[i] as number))).toBeLessThanOrEqual(v * 2 ** -11);
      expect(Math.abs((x[i] as number) - (bf16[i] as number))).toBeLessThanOrEqual(v * 2 ** -8);
    }
  });

  it('Q8_0 error ≤ max|x|/127 per block', () => {
    const y = roundTrip(GgmlType.Q8_0);
    for (let b = 0; b < n; b += 32) {
      expect(maxErr(y, b, b + 32)).toBeLessThanOrEqual(absMax(b, b + 32) / 127);
    }
    expect(relRms(y)).toBeLessThan(0.01);
  });

  it('Q4_0 error ≤ max|x|/8 per block (the extreme maps to -8·d exactly)', () => {
    const y = roundTrip(GgmlType.Q4_0);
    for (let b = 0; b < n; b += 32) {
      expect(maxErr(y, b, b + 32)).toBeLessThanOrEqual((absMax(b, b + 32) / 8) * 1.002);
    }
    expect(relRms(y)).toBeLessThan(0.12);
  });

  it('Q4_K error ≤ (max − min)/15 per super-block, relative RMS < 0.1', () => {
    const y = roundTrip(GgmlType.Q4_K);
    for (let b = 0; b < n; b += 256) {
      let lo = 0;
      let hi = 0;
      for (let i = b; i < b + 256; i++) {
        lo = Math.min(lo, x[i] as number);
        hi = Math.max(hi, x[i] as number);
      }
      expect(maxErr(y, b, b + 256)).toBeLessThanOrEqual((hi - lo) / 15);
    }
    expect(relRms(y)).toBeLessThan(0.1);
  });

  it('Q6_K error ≤ max|x|/32 per super-block, relative RMS < 0.03', () => {
    const y = roundTrip(GgmlType.Q6_K);
    for (let b = 0; b < n; b += 256) {
      expect(maxErr(y, b, b + 256)).toBeLessThanOrEqual(absMax(b, b + 256) / 32);
    }
    expect(relRms(y)).toBeLessThan(0.03);
  });

  it('an all-zero block decodes to zeros for every type', () => {
    for (const name of ALL) {
      const { blockSize } = ggmlTypeTraits(GgmlType[name]);
      const y = dequantize(
        GgmlType[name],
        quantize(GgmlType[name], new Float32Array(blockSize)),
        blockSize,
      );
      expect(y.every((v) => v === 0)).toBe(true);
    }
  });
});

describe('ranges', () => {
  it('dequantizeRow writes only dst[dstOffset, dstOffset + n)', () => {
    const data = quantize(GgmlType.Q6_K, sample(256, 1));
    const dst = new Float32Array(260).fill(7);
    dequantizeRow(GgmlType.Q6_K, data, 0, dst, 2, 256);
    expect([dst[0], dst[1], dst[258], dst[259]]).toEqual([7, 7, 7, 7]);
  });

  it('quantizeRow writes only its blocks and reads src from srcOffset', () => {
    const x = sample(64, 2);
    const dst = new Uint8Array(40).fill(0xee);
    quantizeRow(GgmlType.Q8_0, x, 32, dst, 3, 32);
    expect([dst[0], dst[1], dst[2], dst[37], dst[38], dst[39]]).toEqual([
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
    ]);
    expect([...dst.subarray(3, 37)]).toEqual([...quantize(GgmlType.Q8_0, x.subarray(32))]);
  });
});

describe('errors', () => {
  const bad = [4, 5, 16, 17, 99, -1];

  it('rejects unsupported type ids with UnsupportedTensorTypeError', () => {
    for (const type of bad) {
      expect(() => quantize(type, new Float32Array(32))).toThrow(UnsupportedTensorTypeError);
      expect(() => quantizeRow(type, new Float32Array(32), 0, new Uint8Array(64), 0, 32)).toThrow(
        UnsupportedTensorTypeError,
      );
      expect(() => dequantizeRow(type, new Uint8Array(64), 0, new Float32Array(32), 0, 32)).toThrow(
        UnsupportedTensorTypeError,
      );
      expect(() => dotRow(type, new Uint8Array(64), 0, new Float32Array(32), 0, 32)).toThrow(
        UnsupportedTensorTypeError,
      );
    }
  });

  it('quantize rejects a length that is not whole blocks, naming the type and block size', () => {
    expect(() => quantize(GgmlType.Q8_0, new Float32Array(33))).toThrow(RangeError);
    expect(() => quantize(GgmlType.Q8_0, new Float32Array(33))).toThrow(/Q8_0.*\b32\b/);
    expect(() => quantize(GgmlType.Q4_K, new Float32Array(300))).toThrow(/Q4_K.*\b256\b/);
    expect(() => quantize(GgmlType.Q6_K, new Float32Array(128))).toThrow(/Q6_K.*\b256\b/);
    expect(quantize(GgmlType.Q4_0, new Float32Array(0))).toEqual(new Uint8Array(0));
  });

  it('row functions reject partial blocks and out-of-range offsets', () => {
    const src = new Uint8Array(144);
    const dst = new Float32Array(256);
    expect(() => dequantizeRow(GgmlType.Q4_K, src, 0, dst, 0, 255)).toThrow(/Q4_K.*256/);
    expect(() => dequantizeRow(GgmlType.Q4_K, src, 1, dst, 0, 256)).toThrow(RangeError);
    expect(() => dequantizeRow(GgmlType.Q4_K, src, 0, dst, 1, 256)).toThrow(RangeError);
    expect(() => dotRow(GgmlType.Q4_K, src, 0, dst, 1, 256)).toThrow(RangeError);
    expect(() => dotRow(GgmlType.F16, src, -1, dst, 0, 2)).toThrow(RangeError);
    expect(() => quantizeRow(GgmlType.Q4_K, dst, 0, src, 1, 256)).toThrow(RangeError);
    expect(() => quantizeRow(GgmlType.F32, dst, 0, src, 0, 1.5)).toThrow(RangeError);
  });
});
