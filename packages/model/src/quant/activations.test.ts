import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelArgumentError } from '../errors.js';
import { GgmlType, UnsupportedTensorTypeError } from '../ggml-type.js';
import {
  createPreparedActivations,
  dotPrepared,
  GGML_TYPE_Q8_1,
  GGML_TYPE_Q8_K,
  type PreparedActivations,
  prepareActivations,
  vecDotType,
} from './activations.js';
import { f16Table32 } from './half.js';
import { dequantizeRow, dotRow, quantize } from './kernels.js';

/**
 * Golden data from ggml-cpu's x86 AVX2 kernels (test-fixtures/quant/activations.json, made by a C
 * program linking ggml's arch/x86/quants.c, quants.c, vec.cpp and ggml-quants.c built with
 * gcc -O3 -mavx2 -mfma -mf16c): what from_float makes of activation rows, and the binary32 result
 * of from_float + vec_dot for fixed and LCG-generated weight rows, all compared bit for bit.
 */
interface TypeGolden {
  rows: string;
  dots: string;
  stressDots: string;
}
type TypeName =
  | 'F32'
  | 'F16'
  | 'BF16'
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
  | 'IQ4_XS';
interface Golden {
  ggmlCommit: string;
  fixed: { n: number; acts: string; q8_0: string; q8_K: string };
  types: Record<TypeName, TypeGolden>;
}

const golden = JSON.parse(
  readFileSync(new URL('../../test-fixtures/quant/activations.json', import.meta.url), 'utf8'),
) as Golden;

const TYPE_NAMES: readonly TypeName[] = [
  'F32',
  'F16',
  'BF16',
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
];
const BLOCK: Record<TypeName, number> = {
  F32: 1,
  F16: 1,
  BF16: 1,
  Q8_0: 32,
  Q4_0: 32,
  Q4_1: 32,
  Q5_0: 32,
  Q5_1: 32,
  Q2_K: 256,
  Q3_K: 256,
  Q4_K: 256,
  Q5_K: 256,
  Q6_K: 256,
  IQ4_NL: 32,
  IQ4_XS: 256,
};
const FIXED_ACTS = 4;
const FIXED_ROWS = 3;
const STRESS_CASES = 256;
const { fround } = Math;

/** Decodes base64 into a fresh, aligned buffer. */
function bytes(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}
const f32s = (b64: string): Float32Array => new Float32Array(bytes(b64).buffer);
const bitsOf = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0] as number;
const hex = (x: number): string => `0x${bitsOf(x).toString(16).padStart(8, '0')} (${x})`;

/** Copies `data` into a larger buffer at byte `offset`, returning that buffer. */
function atOffset(data: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(offset + data.length + 5).fill(0xa5);
  out.set(data, offset);
  return out;
}

// The generator's 32-bit LCG and input recipes (see the fixture description).
let rng = 0;
function nextU32(): number {
  rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
  return rng;
}
/** Uniform in [-1, 1): 24 random bits, exact in binary32. */
const u11 = (): number => (nextU32() >>> 8) * 2 ** -23 - 1;
const SCALES = [1, 0.01, 3, 0.5, 1000, 1e-30, 1, 1e-39].map(fround);

function makeAct(k: number, x: Float32Array, n: number): void {
  const s = SCALES[k] as number;
  for (let i = 0; i < n; i++) {
    if (k === 2) {
      const a = u11();
      const b = u11();
      const c = u11();
      const d = u11();
      x[i] = fround(fround(fround(fround(a + b) + c) + d) * s);
    } else if (k === 3) {
      x[i] = fround(((nextU32() >>> 24) - 128) * s);
      if (i % 32 === 0) x[i] = nextU32() >>> 31 ? 127 : -127;
    } else {
      x[i] = fround(u11() * s);
    }
    if (k === 6 && (Math.floor(i / 32) % 3 === 1 || (i >= 256 && i < 512))) x[i] = 0;
  }
  if (k === 1 && n > 0) x[(nextU32() >>> 8) % n] = 50;
}

function makeWeights(k: number, v: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (k === 1) {
      const a = u11();
      const b = u11();
      const c = u11();
      v[i] = fround(fround(fround(a + b) + c) * fround(0.05));
    } else {
      v[i] = fround(u11() * fround(0.1));
    }
  }
  if (k === 2 && n > 0) v[(nextU32() >>> 8) % n] = -2.5;
}

function stressN(name: TypeName, c: number): number {
  const bs = BLOCK[name];
  if (bs === 32) return 32 * (1 + (c % 16));
  if (bs === 256) return 256 * (1 + (c % 3));
  return 1 + ((c * 37) % 600);
}

/** prepareActivations + dotPrepared in one call (fresh buffers). */
function dot(type: number, row: Uint8Array, rowOffset: number, x: Float32Array, n: number): number {
  const act = createPreparedActivations(n);
  prepareActivations(type, x, 0, n, act);
  return dotPrepared(type, row, rowOffset, act);
}

const fixedN = golden.fixed.n;
const fixedActs = f32s(golden.fixed.acts);
const actAt = (a: number): Float32Array => fixedActs.subarray(a * fixedN, (a + 1) * fixedN);

describe('golden data', () => {
  it('comes from a recorded ggml commit and stays compact', () => {
    expect(golden.ggmlCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(fixedActs.length).toBe(FIXED_ACTS * fixedN);
  });
});

describe('prepareActivations matches ggml-cpu from_float bit for bit', () => {
  const table = f16Table32();

  it('Q8_0: the AVX2 quantize_row_q8_0 (round half to even, f16 scale)', () => {
    const want = bytes(golden.fixed.q8_0);
    const act = createPreparedActivations(fixedN);
    for (let a = 0; a < FIXED_ACTS; a++) {
      for (const weightType of [GgmlType.Q8_0, GgmlType.Q4_0]) {
        prepareActivations(weightType, actAt(a), 0, fixedN, act);
        expect(act.vecDotType).toBe(GgmlType.Q8_0);
        for (let b = 0; b < fixedN / 32; b++) {
          const o = ((a * fixedN) / 32) * 34 + b * 34;
          const d = table[(want[o] as number) | ((want[o + 1] as number) << 8)] as number;
          expect(bitsOf(act.d[b] as number), `act ${a} block ${b} d`).toBe(bitsOf(d));
          const qs = new Int8Array(want.buffer, o + 2, 32);
          expect([...act.qs.subarray(32 * b, 32 * b + 32)], `act ${a} block ${b}`).toEqual([...qs]);
        }
      }
    }
  });

  it('Q8_K: quantize_row_q8_K (the reference, as on x86)', () => {
    const want = bytes(golden.fixed.q8_K);
    const view = new DataView(want.buffer);
    const act = createPreparedActivations(fixedN);
    for (let a = 0; a < FIXED_ACTS; a++) {
      for (const weightType of [
        GgmlType.Q2_K,
        GgmlType.Q3_K,
        GgmlType.Q4_K,
        GgmlType.Q5_K,
        GgmlType.Q6_K,
      ]) {
        prepareActivations(weightType, actAt(a), 0, fixedN, act);
        expect(act.vecDotType).toBe(GGML_TYPE_Q8_K);
        for (let b = 0; b < fixedN / 256; b++) {
          const o = ((a * fixedN) / 256) * 292 + b * 292;
          expect(bitsOf(act.d[b] as number)).toBe(view.getUint32(o, true));
          const qs = new Int8Array(want.buffer, o + 4, 256);
          expect([...act.qs.subarray(256 * b, 256 * b + 256)]).toEqual([...qs]);
          const bsums = Array.from({ length: 16 }, (_, j) => view.getInt16(o + 260 + 2 * j, true));
          expect([...act.bsums.subarray(16 * b, 16 * b + 16)]).toEqual(bsums);
        }
      }
    }
  });
});

for (const name of TYPE_NAMES) {
  const type = GgmlType[name];
  const g = golden.types[name];

  describe(`${name}: dotPrepared equals ggml-cpu (x86 AVX2) vec_dot bit for bit`, () => {
    const rows = bytes(g.rows);
    const rowBytes = rows.length / FIXED_ROWS;
    const dots = f32s(g.dots);
    const shortN = BLOCK[name] === 1 ? 100 : BLOCK[name];

    it(`fixed rows × activations (n = ${fixedN} and ${shortN})`, () => {
      const full = createPreparedActivations(fixedN);
      const short = createPreparedActivations(fixedN);
      for (let a = 0; a < FIXED_ACTS; a++) {
        prepareActivations(type, actAt(a), 0, fixedN, full);
        prepareActivations(type, fixedActs, a * fixedN, shortN, short);
        for (let r = 0; r < FIXED_ROWS; r++) {
          const i = (r * FIXED_ACTS + a) * 2;
          const got = dotPrepared(type, rows, r * rowBytes, full);
          expect(hex(got), `row ${r} act ${a}`).toBe(hex(dots[i] as number));
          const gotShort = dotPrepared(type, rows, r * rowBytes, short);
          expect(hex(gotShort), `row ${r} act ${a} prefix`).toBe(hex(dots[i + 1] as number));
        }
      }
    });

    it('reads rows at odd byte offsets', () => {
      const act = createPreparedActivations(fixedN);
      prepareActivations(type, actAt(1), 0, fixedN, act);
      const shifted = atOffset(rows, 3);
      for (let r = 0; r < FIXED_ROWS; r++) {
        const got = dotPrepared(type, shifted, 3 + r * rowBytes, act);
        expect(hex(got)).toBe(hex(dots[(r * FIXED_ACTS + 1) * 2] as number));
      }
    });

    it(`${STRESS_CASES} generated cases (all activation kinds, many lengths)`, () => {
      const want = f32s(g.stressDots);
      rng = Math.imul(99991, type + 1) >>> 0;
      const v = new Float32Array(4096);
      const x = new Float32Array(4096);
      const act = createPreparedActivations(4096);
      const mismatches: string[] = [];
      for (let c = 0; c < STRESS_CASES; c++) {
        const n = stressN(name, c);
        makeWeights(c % 3, v, n);
        makeAct(c % 8, x, n);
        const row = quantize(type, v.subarray(0, n));
        prepareActivations(type, x, 0, n, act);
        const got = dotPrepared(type, row, 0, act);
        if (bitsOf(got) !== bitsOf(want[c] as number)) {
          mismatches.push(`case ${c} (n ${n}): ${hex(got)} vs ${hex(want[c] as number)}`);
        }
      }
      expect(mismatches).toEqual([]);
    });

    it('stays close to the f32 dotRow', () => {
      // Activation rounding (8-bit quants, f16, bf16) bounds the error relative to Σ|w·x|.
      const tol = {
        F32: 1e-6,
        F16: 2e-3,
        BF16: 1e-2,
        Q8_0: 2e-2,
        Q4_0: 2e-2,
        Q4_1: 2e-2,
        Q5_0: 2e-2,
        Q5_1: 2e-2,
        // Q2_K's weights are differences of two large terms (d·sc·q − dmin·m) that the activation
        // rounding hits separately: with activations of ±0.01 next to one 50 (which round to 0),
        // row 2 is off by 0.16 of Σ|w·x|. Bit-exactness with ggml is the real check, above.
        Q2_K: 0.2,
        Q3_K: 3e-2,
        Q4_K: 2e-2,
        // Row 2 (one -2.5 among ±0.1) against activations of ±0.01 with one 50: 1.8e-2.
        Q5_K: 3e-2,
        Q6_K: 2e-2,
        // Row 2 against activation 1, as for Q5_K: 2.1e-2.
        IQ4_NL: 3e-2,
        IQ4_XS: 3e-2,
      }[name];
      const w = new Float32Array(fixedN);
      for (let r = 0; r < FIXED_ROWS; r++) {
        const row = rows.subarray(r * rowBytes, (r + 1) * rowBytes);
        dequantizeRow(type, row, 0, w, 0, fixedN);
        for (let a = 0; a < FIXED_ACTS; a++) {
          const x = actAt(a);
          let scale = 0;
          for (let i = 0; i < fixedN; i++) scale += Math.abs((w[i] as number) * (x[i] as number));
          const want = dotRow(type, row, 0, x, 0, fixedN);
          const got = dot(type, row, 0, x, fixedN);
          expect(Math.abs(got - want), `row ${r} act ${a}`).toBeLessThanOrEqual(tol * scale);
        }
      }
    });
  });
}

describe('binary32 FMA emulation', () => {
  // Lane 0 gets c = 1 + 2^-23 from element 0, then fma(2^-24·(1 + 2^-23), 1 - 2^-23, c) from
  // element 32: the exact sum 1 + 2^-23 + 2^-24 - 2^-70 lies just below a binary32 midpoint, but
  // its double rounding lands on it, where ties-to-even would pick 1 + 2^-22.
  it('rounds sums that a double puts on a binary32 midpoint the way fmaf does', () => {
    for (const sign of [1, -1]) {
      const w = new Float32Array(64);
      const x = new Float32Array(64);
      w[0] = sign * (1 + 2 ** -23);
      x[0] = 1;
      w[32] = sign * 2 ** -24 * (1 + 2 ** -23);
      x[32] = 1 - 2 ** -23;
      const row = new Uint8Array(w.buffer);
      expect(dot(GgmlType.F32, row, 0, x, 64)).toBe(sign * (1 + 2 ** -23));
      // And where the exact sum is above the midpoint.
      x[32] = 1 + 2 ** -23;
      expect(dot(GgmlType.F32, row, 0, x, 64)).toBe(sign * (1 + 2 ** -22));
    }
  });
});

describe('API', () => {
  it('maps weight types to their vec_dot_type', () => {
    expect(TYPE_NAMES.map((t) => vecDotType(GgmlType[t]))).toEqual([
      GgmlType.F32,
      GgmlType.F16,
      GgmlType.BF16,
      GgmlType.Q8_0,
      GgmlType.Q8_0,
      GGML_TYPE_Q8_1,
      GgmlType.Q8_0,
      GGML_TYPE_Q8_1,
      GGML_TYPE_Q8_K,
      GGML_TYPE_Q8_K,
      GGML_TYPE_Q8_K,
      GGML_TYPE_Q8_K,
      GGML_TYPE_Q8_K,
      GgmlType.Q8_0,
      GGML_TYPE_Q8_K,
    ]);
  });

  it('reuses one preparation for many rows and re-prepares for another type', () => {
    const rows = bytes(golden.types.Q4_0.rows);
    const rowBytes = rows.length / FIXED_ROWS;
    const dots = f32s(golden.types.Q4_0.dots);
    const act: PreparedActivations = createPreparedActivations(fixedN);
    expect(act.vecDotType).toBe(-1);
    prepareActivations(GgmlType.Q4_0, actAt(2), 0, fixedN, act);
    for (let r = FIXED_ROWS - 1; r >= 0; r--) {
      expect(hex(dotPrepared(GgmlType.Q4_0, rows, r * rowBytes, act))).toBe(
        hex(dots[(r * FIXED_ACTS + 2) * 2] as number),
      );
    }
    // Q8_0 activations serve Q8_0 weights too, but not K-quants or floats.
    const q8rows = bytes(golden.types.Q8_0.rows);
    expect(hex(dotPrepared(GgmlType.Q8_0, q8rows, 0, act))).toBe(
      hex(f32s(golden.types.Q8_0.dots)[2 * 2] as number),
    );
    expect(() => dotPrepared(GgmlType.Q4_K, rows, 0, act)).toThrow(ModelArgumentError);
    expect(() => dotPrepared(GgmlType.F32, rows, 0, act)).toThrow(ModelArgumentError);
    prepareActivations(GgmlType.F16, actAt(2), 0, fixedN, act);
    expect(act.vecDotType).toBe(GgmlType.F16);
    expect(() => dotPrepared(GgmlType.Q4_0, rows, 0, act)).toThrow(ModelArgumentError);
  });

  it('checks lengths, capacity, ranges and types', () => {
    const act = createPreparedActivations(256);
    const x = new Float32Array(512);
    expect(() => prepareActivations(GgmlType.Q8_0, x, 0, 48, act)).toThrow(RangeError);
    expect(() => prepareActivations(GgmlType.Q4_K, x, 0, 128, act)).toThrow(RangeError);
    expect(() => prepareActivations(GgmlType.Q8_0, x, 0, 288, act)).toThrow(/capacity/);
    expect(() => prepareActivations(GgmlType.F32, x, 400, 200, act)).toThrow(RangeError);
    expect(() => prepareActivations(16, x, 0, 256, act)).toThrow(UnsupportedTensorTypeError);
    prepareActivations(GgmlType.Q8_0, x, 0, 64, act);
    expect(() => dotPrepared(GgmlType.Q8_0, new Uint8Array(67), 0, act)).toThrow(RangeError);
    expect(() => dotPrepared(GgmlType.Q8_0, new Uint8Array(68), 1, act)).toThrow(RangeError);
    expect(dotPrepared(GgmlType.Q8_0, new Uint8Array(68), 0, act)).toBe(0);
    expect(() => createPreparedActivations(-1)).toThrow(RangeError);
  });

  it('prepares zero-length rows', () => {
    const act = createPreparedActivations(0);
    for (const name of TYPE_NAMES) {
      prepareActivations(GgmlType[name], new Float32Array(0), 0, 0, act);
      expect(dotPrepared(GgmlType[name], new Uint8Array(0), 0, act)).toBe(0);
    }
  });
});
