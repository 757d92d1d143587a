import { GgmlType } from '@x/model';
import { describe, expect, it } from 'vitest';
import { matmulError } from './test-helpers.js';

// The kernels differ from the reference only in float summation order (integer sums are exact and
// activations are quantized the same way): a few ulps of the largest output.
const TOLERANCE = 2e-5;

describe('wasm matmul kernels against the ggml-faithful reference', () => {
  for (const [name, type] of [
    ['Q8_0', GgmlType.Q8_0],
    ['Q4_0', GgmlType.Q4_0],
    ['F32', GgmlType.F32],
    ['F16', GgmlType.F16],
    ['BF16', GgmlType.BF16],
  ] as const) {
    // 11 rows: three four-row groups, the last partial; 35 and 61: Q8_0's decode path walks eight
    // groups far apart at once, leaving a group to the general loop (35) or ending on a partial
    // group itself (61); 3 tokens: a pair and one more; 7: four at once, a pair and one more.
    it(`${name}: rows not a multiple of 4, one and several tokens`, () => {
      for (const rows of [11, 35, 61]) {
        for (const tokens of [1, 3, 7]) {
          const { error } = matmulError(type, rows, 256, tokens, 7);
          expect(error, `${name}, ${rows} rows, ${tokens} tokens`).toBeLessThan(TOLERANCE);
        }
      }
    });
  }
});
