import { GgmlType } from '@x/model';
import { describe, expect, it } from 'vitest';
import { matmulError } from './test-helpers.js';

// The super-block kernels sum each block's integer products exactly, as the reference does, and
// differ from it only in float summation order: a few ulps of the largest output.
const TOLERANCE = 2e-5;

describe('wasm super-block (K-quant) matmul kernels against the ggml-faithful reference', () => {
  for (const [name, type] of [
    ['Q2_K', GgmlType.Q2_K],
    ['Q3_K', GgmlType.Q3_K],
    ['Q4_K', GgmlType.Q4_K],
    ['Q5_K', GgmlType.Q5_K],
    ['Q6_K', GgmlType.Q6_K],
    ['IQ4_XS', GgmlType.IQ4_XS],
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
