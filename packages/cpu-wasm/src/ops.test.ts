import { describe, expect, it } from 'vitest';
import { instantiateKernels, kernelMemory } from './wasm.js';

describe('glu', () => {
  it('SiLU(gate) · up within a few f32 ulps of the exact value, over the whole f32 range of use', () => {
    const memory = kernelMemory(65536 * 4, 65536 * 4, false);
    const k = instantiateKernels(memory);
    const cols = 4003; // not a multiple of 4: the vector loop and its tail
    const base = (k.heapBase() + 15) & ~15;
    const gate = new Float32Array(memory.buffer, base, cols);
    const up = new Float32Array(memory.buffer, base + cols * 4, cols);
    for (let c = 0; c < cols; c++) {
      gate[c] = -120 + (240 * c) / (cols - 1) + (c % 7) * 1e-3;
      up[c] = 1 + (c % 5) * 0.25;
    }
    gate[0] = 0;
    gate[1] = -0;
    gate[2] = 1e-30;
    const out = base + cols * 8;
    // Two column ranges, as two threads would split them: the split must not change a value.
    k.glu(base, cols, base + cols * 4, cols, out, cols, 0, 1, 0, 1001, 0);
    k.glu(base, cols, base + cols * 4, cols, out, cols, 0, 1, 1001, cols, 0);
    const got = new Float32Array(memory.buffer, out, cols);
    let worst = 0;
    for (let c = 0; c < cols; c++) {
      const x = gate[c]!;
      const exact = (x / (1 + Math.exp(-x))) * up[c]!;
      const err = Math.abs(got[c]! - exact) / Math.max(Math.abs(exact), 1e-30);
      if (Math.abs(exact) > 1e-30) worst = Math.max(worst, err);
      expect(Number.isFinite(got[c]!), `column ${c} (gate ${x})`).toBe(true);
    }
    expect(worst).toBeLessThan(4e-7);
    const again = new Float32Array(memory.buffer, out, cols).slice();
    k.glu(base, cols, base + cols * 4, cols, out, cols, 0, 1, 0, cols, 0);
    expect(new Float32Array(memory.buffer, out, cols)).toEqual(again);
  });
});
