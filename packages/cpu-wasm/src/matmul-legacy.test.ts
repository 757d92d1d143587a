import { GgmlType } from '@x/model';
import { describe, expect, it } from 'vitest';
import { matmulError } from './test-helpers.js';
import { instantiateKernels, kernelMemory } from './wasm.js';

// The kernels differ from the reference only in float summation order (integer sums are exact and
// activations are quantized the same way): a few ulps of the largest output.
const TOLERANCE = 2e-5;

// rows × cols: rows not a multiple of 4; cols = 32·k for k = 1 and 3 (only the kernels' one-block
// tail), 8 (only their four-block groups), 18 (cols 576: both) and 576 (long rows).
const SHAPES: readonly (readonly [number, number])[] = [
  [5, 32],
  [11, 96],
  [7, 256],
  [13, 576],
  [3, 32 * 576],
];

describe('wasm legacy 32-block kernels against the ggml-faithful reference', () => {
  for (const [name, type] of [
    ['Q4_1', GgmlType.Q4_1],
    ['Q5_0', GgmlType.Q5_0],
    ['Q5_1', GgmlType.Q5_1],
    ['IQ4_NL', GgmlType.IQ4_NL],
  ] as const) {
    it(`${name}: the kernels report support for it`, () => {
      const k = instantiateKernels(kernelMemory(1 << 16, 1 << 16));
      expect(k.blocksSupport(type)).toBeTruthy();
    });

    it(`${name}: several shapes, one and several tokens`, () => {
      let seed = 3;
      for (const [rows, cols] of SHAPES) {
        for (const tokens of [1, 3]) {
          const { error, wasm, reference } = matmulError(type, rows, cols, tokens, seed++);
          const where = `${name}, ${rows}×${cols}, ${tokens} tokens`;
          expect(wasm.length, where).toBe(rows * tokens);
          expect(
            reference.some((v) => v !== 0),
            where,
          ).toBe(true);
          expect(error, where).toBeLessThan(TOLERANCE);
        }
      }
    });
  }
});
