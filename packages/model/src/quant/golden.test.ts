import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GgmlType, ggmlTypeTraits } from '../ggml-type.js';
import { f16Table32, f32ToBf16, f32ToF16 } from './half.js';
import { dequantizeRow, dotRow, quantizeRow } from './kernels.js';

/**
 * Golden data from ggml itself (test-fixtures/quant/golden.json): inputs, the bytes of
 * quantize_row_*_ref, the floats of dequantize_row_*, and f16/bf16 conversions, all compared
 * bit for bit.
 */
interface TypeGolden {
  input: string;
  quant: string;
  dequant: string;
  raw: string;
  rawDequant: string;
}
interface Golden {
  ggmlCommit: string;
  half: { f32: string; f16: string; bf16: string; f16ToF32Fnv1a: number };
  types: Record<
    | 'Q8_0'
    | 'Q4_0'
    | 'Q4_1'
    | 'Q5_0'
    | 'Q5_1'
    | 'Q2_K'
    | 'Q3_K'
    | 'Q4_K'
    | 'Q5_K'
    | 'Q6_K'
    | 'IQ4_NL'
    | 'IQ4_XS',
    TypeGolden
  >;
}

const golden = JSON.parse(
  readFileSync(new URL('../../test-fixtures/quant/golden.json', import.meta.url), 'utf8'),
) as Golden;

/** Decodes base64 into a fresh, aligned buffer. */
function bytes(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}
const f32s = (b64: string): Float32Array => new Float32Array(bytes(b64).buffer);
const u16s = (b64: string): Uint16Array => new Uint16Array(bytes(b64).buffer);
const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Index of the first element where a and b differ, or -1 (lengths must match). */
function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Copies `data` into a larger buffer at byte `offset`, returning that buffer. */
function atOffset(data: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(offset + data.length + 5).fill(0xa5);
  out.set(data, offset);
  return out;
}

function fnv1a(words: Uint32Array): number {
  let hash = 2166136261;
  for (const w of words) {
    for (let s = 0; s < 32; s += 8) {
      hash ^= (w >>> s) & 0xff;
      hash = Math.imul(hash, 16777619) >>> 0;
    }
  }
  return hash >>> 0;
}

const CASES = [
  'uniform [-1, 1)',
  'uniform × 0.01',
  'uniform × 100',
  'near-gaussian × 3',
  'all zeros',
  'one huge value (1000)',
  'negative only',
  'positive only',
  'values on .5 boundaries',
  'tiny (1e-30)',
  'mixed sub-block scales, zero and constant sub-blocks',
  'large (±3e4, one -6e4)',
];

describe('golden data', () => {
  it('comes from a recorded ggml commit', () => {
    expect(golden.ggmlCommit).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('f16 / bf16 conversions match ggml bit for bit', () => {
  const input = f32s(golden.half.f32);
  const f16 = u16s(golden.half.f16);
  const bf16 = u16s(golden.half.bf16);

  it('f16 → f32 for all 65,536 values (FNV-1a of the bit patterns)', () => {
    expect(fnv1a(bitsOf(f16Table32()))).toBe(golden.half.f16ToF32Fnv1a);
    const all = new Uint8Array(2 * 65536);
    for (let h = 0; h < 65536; h++) {
      all[2 * h] = h & 0xff;
      all[2 * h + 1] = h >>> 8;
    }
    const out = new Float32Array(65536);
    dequantizeRow(GgmlType.F16, all, 0, out, 0, 65536);
    expect(fnv1a(bitsOf(out))).toBe(golden.half.f16ToF32Fnv1a);
  });

  it(`f32 → f16 (round to nearest even, subnormals, inf, NaN) on ${input.length} inputs`, () => {
    const out = new Uint8Array(2 * input.length);
    quantizeRow(GgmlType.F16, input, 0, out, 0, input.length);
    expect(firstMismatch(new Uint16Array(out.buffer), f16)).toBe(-1);
    // The number API agrees wherever a JS number can carry the input (every non-NaN).
    for (let i = 0; i < input.length; i++) {
      const x = input[i] as number;
      if (!Number.isNaN(x)) expect(f32ToF16(x), `f32ToF16(${x})`).toBe(f16[i]);
    }
  });

  it(`f32 → bf16 (round to nearest even, quiet NaN) on ${input.length} inputs`, () => {
    const out = new Uint8Array(2 * input.length);
    quantizeRow(GgmlType.BF16, input, 0, out, 0, input.length);
    expect(firstMismatch(new Uint16Array(out.buffer), bf16)).toBe(-1);
    for (let i = 0; i < input.length; i++) {
      const x = input[i] as number;
      if (!Number.isNaN(x)) expect(f32ToBf16(x), `f32ToBf16(${x})`).toBe(bf16[i]);
    }
  });

  it('f16 and bf16 rows decode at an odd byte offset', () => {
    for (const [type, data] of [
      [GgmlType.F16, f16],
      [GgmlType.BF16, bf16],
    ] as const) {
      const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const a = new Float32Array(data.length);
      const b = new Float32Array(data.length);
      dequantizeRow(type, raw, 0, a, 0, data.length);
      dequantizeRow(type, atOffset(raw, 3), 3, b, 0, data.length);
      expect(firstMismatch(bitsOf(a), bitsOf(b))).toBe(-1);
    }
  });
});

for (const name of [
  'Q8_0',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q2_K',
  'Q3_K',
  'Q4_K',
  'Q5_K',
  'Q6_K',
  'IQ4_NL',
  'IQ4_XS',
] as const) {
  const type = GgmlType[name];
  const { blockSize, typeSize } = ggmlTypeTraits(type);
  const g = golden.types[name];
  const input = f32s(g.input);
  const quant = bytes(g.quant);
  const dequant = f32s(g.dequant);

  describe(`${name} matches ggml bit for bit`, () => {
    it.each(CASES.map((label, c) => [c, label] as const))(
      `quantize_row_${name.toLowerCase()}_ref and dequantize: case %i (%s)`,
      (c) => {
        const out = new Uint8Array(typeSize);
        quantizeRow(type, input, c * blockSize, out, 0, blockSize);
        const want = quant.subarray(c * typeSize, (c + 1) * typeSize);
        expect(firstMismatch(out, want)).toBe(-1);
        const decoded = new Float32Array(blockSize);
        dequantizeRow(type, want, 0, decoded, 0, blockSize);
        const wantF = dequant.subarray(c * blockSize, (c + 1) * blockSize);
        expect(firstMismatch(bitsOf(decoded), bitsOf(wantF))).toBe(-1);
      },
    );

    it('quantizes the whole row into a larger buffer at an odd offset', () => {
      const out = new Uint8Array(quant.length + 8).fill(0x5a);
      quantizeRow(type, input, 0, out, 3, input.length);
      expect(firstMismatch(out.subarray(3, 3 + quant.length), quant)).toBe(-1);
      expect([...out.subarray(0, 3), ...out.subarray(3 + quant.length)]).toEqual([
        0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
      ]);
    });

    it('dequantizes the row from odd byte offsets into an offset destination', () => {
      for (const offset of [0, 1, 3]) {
        const out = new Float32Array(dequant.length + 2);
        dequantizeRow(type, atOffset(quant, offset), offset, out, 1, dequant.length);
        const got = out.subarray(1, 1 + dequant.length);
        expect(firstMismatch(bitsOf(got), bitsOf(dequant))).toBe(-1);
        expect([out[0], out[out.length - 1]]).toEqual([0, 0]);
      }
    });

    it('dequantizes random raw blocks (arbitrary scales and quants)', () => {
      const raw = bytes(g.raw);
      const want = f32s(g.rawDequant);
      const out = new Float32Array(want.length);
      dequantizeRow(type, atOffset(raw, 1), 1, out, 0, want.length);
      expect(firstMismatch(bitsOf(out), bitsOf(want))).toBe(-1);
    });

    it('dotRow agrees with the golden dequantized row', () => {
      const x = new Float32Array(dequant.length);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.5;
      let want = 0;
      let scale = 0;
      for (let i = 0; i < x.length; i++) {
        const t = (dequant[i] as number) * (x[i] as number);
        want += t;
        scale += Math.abs(t);
      }
      const got = dotRow(type, atOffset(quant, 3), 3, x, 0, x.length);
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * scale);
    });
  });
}
