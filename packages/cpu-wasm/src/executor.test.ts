// Parity of the CPU executor with ReferenceExecutor (the oracle): the same ggml-style activation
// quantization, so logits agree to float summation order. Never skipped.
import {
  byteLevelTokenizer,
  GgmlType,
  loadSyntheticModel,
  type Model,
  ReferenceExecutor,
  sequenceBatch,
} from '@x/model';
import { describe, expect, it } from 'vitest';
import { CpuWasmExecutor } from './index.js';

const SHAPE = { numBlocks: 32, blockSize: 16, numHostBlocks: 8 };
const ids = (text: string) => [...Buffer.from(text, 'utf8')];

function tinyModel(weightType: number, hidden = 64): Promise<Model> {
  return loadSyntheticModel(
    {
      architecture: 'llama',
      tokenizer: byteLevelTokenizer(),
      hiddenSize: hidden,
      intermediateSize: hidden * 2,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      contextLength: 256,
      weightType,
      logitScale: 4,
      seed: 11,
    },
    `tiny-${weightType}.gguf`,
  );
}

function relativeError(want: Float32Array[], got: Float32Array[]): number {
  let diff = 0;
  let scale = 0;
  want.forEach((w, i) => {
    const g = got[i]!;
    for (let j = 0; j < w.length; j++) {
      diff = Math.max(diff, Math.abs((w[j] as number) - (g[j] as number)));
      scale = Math.max(scale, Math.abs(w[j] as number));
    }
  });
  return diff / scale;
}

describe('CpuWasmExecutor against ReferenceExecutor', () => {
  it('prefill then decode, Q8_0, two threads', async () => {
    const m = await tinyModel(GgmlType.Q8_0);
    const ref = new ReferenceExecutor(m, SHAPE);
    const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2 });
    try {
      const prompt = ids('Hello, paged world!');
      const b1 = sequenceBatch({ tokenIds: prompt, start: 0, blockTable: [3, 5], blockSize: 16 });
      const want = ref.forward(b1);
      const got = await cpu.forward(b1);
      expect(relativeError(want, got)).toBeLessThan(1e-4);
      const b2 = sequenceBatch({
        tokenIds: [65],
        start: prompt.length,
        blockTable: [3, 5],
        blockSize: 16,
      });
      expect(relativeError(ref.forward(b2), await cpu.forward(b2))).toBeLessThan(1e-4);
    } finally {
      await cpu.dispose();
    }
  });
});
