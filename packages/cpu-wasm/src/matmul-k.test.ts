import { dequantizeRow, GgmlType as G } from '@x/model';
import { describe, expect, it } from 'vitest';
import { packWeight, Q5_K_GROUPS, Q6_K_GROUPS, unpackKGroupsRow } from './pack.js';
import { matmulError, randomWeight } from './test-helpers.js';

// The super-block kernels sum each block's integer products exactly, as the reference does, and
// differ from it only in float summation order: a few ulps of the largest output.
const TOLERANCE = 2e-5;

describe('wasm super-block (K-quant) matmul kernels against the ggml-faithful reference', () => {
  for (const [name, type] of [
    ['Q2_K', G.Q2_K],
    ['Q3_K', G.Q3_K],
    ['Q4_K', G.Q4_K],
    ['Q5_K', G.Q5_K],
    ['Q6_K', G.Q6_K],
    ['IQ4_XS', G.IQ4_XS],
  ] as const) {
    it(`${name}: rows not a multiple of 4, 256 and 1536 columns, one and several tokens`, () => {
      for (const [rows, cols, seed] of [
        [11, 256, 7],
        [5, 1536, 3],
        [13, 1536, 11],
      ] as const) {
        for (const tokens of [1, 3]) {
          const { error, reference } = matmulError(type, rows, cols, tokens, seed);
          // A kernel returning zeros would compare as NaN (0/0); the outputs must be real.
          expect(reference.some((v) => v !== 0)).toBe(true);
          expect(error, `${name}, ${rows}×${cols}, ${tokens} tokens`).toBeLessThan(TOLERANCE);
        }
      }
    });
  }
});

describe('Q5_K and Q6_K widened to int8 four-row groups', () => {
  for (const [name, type, kernel] of [
    ['Q5_K', G.Q5_K, Q5_K_GROUPS],
    ['Q6_K', G.Q6_K, Q6_K_GROUPS],
  ] as const) {
    // A decode (one token) walks four groups far apart: 13 rows end it on a partial group, 21
    // leave two groups (the last partial) to the general loop, 11 and 5 rows never enter it.
    it(`${name}: matches the reference, rows not a multiple of 4, 256 to 2048 columns, 1 to 7 tokens`, () => {
      for (const [rows, cols, seed] of [
        [11, 256, 7],
        [5, 1536, 3],
        [13, 2048, 11],
        [21, 512, 5],
      ] as const) {
        for (const tokens of [1, 2, 7]) {
          const { error, reference } = matmulError(type, rows, cols, tokens, seed, true);
          expect(reference.some((v) => v !== 0)).toBe(true);
          expect(error, `${rows}×${cols}, ${tokens} tokens`).toBeLessThan(TOLERANCE);
        }
      }
    });

    it(`${name}: unpacks every row to exactly what dequantizeRow makes of the file bytes`, () => {
      const w = randomWeight(type, 7, 512, 5);
      const memory = new ArrayBuffer(1 << 16);
      const p = packWeight(w, memory, 16, true);
      expect(p.type).toBe(kernel);
      const got = new Float32Array(512);
      const want = new Float32Array(512);
      for (let r = 0; r < 7; r++) {
        unpackKGroupsRow(p, memory, r, got, 0);
        dequantizeRow(type, w.data, r * w.rowBytes, want, 0, 512);
        expect(got, `row ${r}`).toEqual(want);
      }
    });
  }
});
