// The CPU executor against ReferenceExecutor (the oracle) on the same weights: every weight type,
// mixed prefill/decode batches, shared prefixes (block copies), forks, swaps, 64 greedy steps,
// one to three threads; and the errors it gives. Never skipped.

import { demoModelPath } from '@x/demo-model';
import {
  byteLevelTokenizer,
  ExecutorError,
  GgmlType,
  type GgmlTypeName,
  loadModel,
  loadSyntheticModel,
  type Model,
  ReferenceExecutor,
  sequenceBatch,
} from '@x/model';
import { describe, expect, it } from 'vitest';
import { CpuWasmError, CpuWasmExecutor } from './index.js';
import { PARITY_TOLERANCE, relativeError, SHAPE, step } from './test-helpers.js';

/** A small Llama whose rows are whole super-blocks (256), so every GGML type can store it. */
function model(weightType: number, hidden = 256): Promise<Model> {
  return loadSyntheticModel({
    architecture: 'llama',
    tokenizer: byteLevelTokenizer(),
    hiddenSize: hidden,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: 256,
    weightType,
    logitScale: 4,
    seed: 5,
  });
}

const PROMPT = Array.from({ length: 37 }, (_, i) => (i * 29 + 3) % 256);
const TYPES = Object.keys(GgmlType) as GgmlTypeName[];

describe('CpuWasmExecutor against ReferenceExecutor', () => {
  for (const type of TYPES) {
    it(`${type} weights: prefill of two sequences, then mixed decode and prefill`, async () => {
      const m = await model(GgmlType[type]);
      const ref = new ReferenceExecutor(m, SHAPE);
      const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2 });
      try {
        for (const batch of [
          sequenceBatch(step(PROMPT, 0, [3, 5, 7]), step(PROMPT.slice(0, 9), 0, [1])),
          sequenceBatch(step([65], 37, [3, 5, 7]), step(PROMPT.slice(9, 30), 9, [1, 2])),
          sequenceBatch(step([66], 30, [1, 2]), step([67], 38, [3, 5, 7])),
        ]) {
          expect(relativeError(ref.forward(batch), await cpu.forward(batch))).toBeLessThan(
            PARITY_TOLERANCE,
          );
        }
      } finally {
        await cpu.dispose();
      }
    });
  }

  it('gives the reference greedy tokens for 64 steps, on one, two and three threads', async () => {
    // The demo model: trained, so its next-token distributions have a clear winner (a random
    // model's near-ties would turn on the float order above).
    const m = await loadModel(demoModelPath);
    const ref = new ReferenceExecutor(m, SHAPE);
    const table = [0, 1, 2, 3, 4, 5];
    const greedy = { sampling: { temperature: 0 } };
    const want: number[] = [];
    const prompt = [...m.tokenizer.encode('And God said, Let there be light')];
    let r = await ref.execute(sequenceBatch(step(prompt, 0, table, greedy)));
    for (let i = 0; i < 64; i++) {
      want.push(r.tokens[0]!);
      r = await ref.execute(sequenceBatch(step([r.tokens[0]!], prompt.length + i, table, greedy)));
    }
    for (const threads of [1, 2, 3]) {
      const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads });
      try {
        const got: number[] = [];
        let c = await cpu.execute(sequenceBatch(step(prompt, 0, table, greedy)));
        for (let i = 0; i < 64; i++) {
          got.push(c.tokens[0]!);
          c = await cpu.execute(
            sequenceBatch(step([c.tokens[0]!], prompt.length + i, table, greedy)),
          );
        }
        expect(got.join(' '), `${threads} threads`).toBe(want.join(' '));
      } finally {
        await cpu.dispose();
      }
    }
  });

  it('copies blocks (a shared prefix forked), swaps blocks out and in, as the reference', async () => {
    const m = await model(GgmlType.Q4_K);
    const ref = new ReferenceExecutor(m, SHAPE);
    const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2 });
    try {
      const prompt = PROMPT.slice(0, 20); // blocks 0 (full) and 1 (4 tokens)
      const batches = [
        sequenceBatch(step(prompt, 0, [0, 1])),
        // Fork: the second sequence shares block 0 and gets a copy of block 1 before it decodes.
        {
          ...sequenceBatch(step([70], 20, [0, 1]), step([71], 20, [0, 2], { seqId: 1 })),
          copies: [[1, 2]] as Array<[number, number]>,
        },
        // Swap the fork's blocks out to host blocks 3 and 4, then back in to 6 and 7.
        {
          ...sequenceBatch(step([72], 21, [0, 1])),
          swapOut: [
            [0, 3],
            [2, 4],
          ] as Array<[number, number]>,
        },
        {
          ...sequenceBatch(step([73], 21, [6, 7], { seqId: 1 })),
          swapIn: [
            [3, 6],
            [4, 7],
          ] as Array<[number, number]>,
        },
      ];
      for (const batch of batches) {
        expect(relativeError(ref.forward(batch), await cpu.forward(batch))).toBeLessThan(
          PARITY_TOLERANCE,
        );
      }
    } finally {
      await cpu.dispose();
    }
  });

  it('stores K/V as f16 in half the memory, within f16 rounding of the reference', async () => {
    const m = await model(GgmlType.Q8_0, 64);
    const ref = new ReferenceExecutor(m, SHAPE);
    const f32 = CpuWasmExecutor.kvCapacity(m, { blockSize: 16 });
    const f16 = CpuWasmExecutor.kvCapacity(m, { blockSize: 16, kvCacheDtype: 'f16' });
    expect(f16.blockBytes * 2).toBe(f32.blockBytes);
    const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2, kvCacheDtype: 'f16' });
    try {
      for (const batch of [
        sequenceBatch(step(PROMPT, 0, [3, 5, 7]), step(PROMPT.slice(0, 9), 0, [1])),
        {
          ...sequenceBatch(step([65], 37, [3, 5, 7]), step([66], 9, [2], { seqId: 1 })),
          copies: [[1, 2]] as Array<[number, number]>,
        },
        {
          ...sequenceBatch(step([67], 38, [3, 5, 7])),
          swapOut: [[2, 0]] as Array<[number, number]>,
        },
        {
          ...sequenceBatch(step([68], 10, [4], { seqId: 1 })),
          swapIn: [[0, 4]] as Array<[number, number]>,
        },
      ]) {
        // K and V rounded to f16 (rel. 5e-4) move the logits by about 1e-3 of their range.
        expect(relativeError(ref.forward(batch), await cpu.forward(batch))).toBeLessThan(
          PARITY_TOLERANCE,
        );
      }
    } finally {
      await cpu.dispose();
    }
  });

  it('grows its activations for a batch larger than it laid out, and its program follows', async () => {
    const m = await model(GgmlType.Q8_0, 64);
    const ref = new ReferenceExecutor(m, SHAPE);
    const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2, maxBatchTokens: 4 });
    try {
      for (const batch of [
        sequenceBatch(step(PROMPT.slice(0, 3), 0, [0])),
        sequenceBatch(step(PROMPT.slice(3), 3, [0, 1, 2]), step(PROMPT.slice(0, 30), 0, [4, 5])),
        sequenceBatch(step([7], 37, [0, 1, 2]), step([8], 30, [4, 5])),
      ]) {
        expect(relativeError(ref.forward(batch), await cpu.forward(batch))).toBeLessThan(
          PARITY_TOLERANCE,
        );
      }
    } finally {
      await cpu.dispose();
    }
  });

  it('samples only the tokens a mask allows (sampling.allowedTokens), greedy or not', async () => {
    const m = await model(GgmlType.Q8_0, 64);
    const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 1 });
    try {
      const words = Math.ceil(m.config.vocabSize / 32);
      const mask = (...ids: number[]) => {
        const out = new Int32Array(words);
        for (const id of ids) out[id >> 5]! |= 1 << (id & 31);
        return out;
      };
      const seen = new Set<number>();
      for (let seed = 0; seed < 24; seed++) {
        const { tokens } = await cpu.execute(
          sequenceBatch(
            step(PROMPT.slice(0, 5), 0, [0], {
              sampling: { temperature: 3, seed, allowedTokens: mask(9, 200) },
            }),
            step(PROMPT.slice(0, 5), 0, [1], {
              seqId: 1,
              sampling: { temperature: 0, allowedTokens: mask(123) },
            }),
          ),
        );
        seen.add(tokens[0]!);
        expect(tokens[1]).toBe(123);
      }
      expect([...seen].sort((a, b) => a - b)).toEqual([9, 200]);
    } finally {
      await cpu.dispose();
    }
  });

  it('leaves its cache unchanged on a malformed batch, and says why', async () => {
    const m = await model(GgmlType.Q8_0, 64);
    const cpu = await CpuWasmExecutor.create(m, { ...SHAPE, threads: 2 });
    expect(cpu).toBeInstanceOf(CpuWasmExecutor);
    expect(cpu.threads).toBe(2);
    const ref = new ReferenceExecutor(m, SHAPE);
    try {
      const first = sequenceBatch(step(PROMPT.slice(0, 5), 0, [0]));
      ref.forward(first);
      await cpu.forward(first);
      await expect(cpu.forward(sequenceBatch(step([1], 5, [99])))).rejects.toThrow(ExecutorError);
      await expect(cpu.forward(sequenceBatch(step([1000], 5, [0])))).rejects.toThrow(
        expect.objectContaining({ code: 'EXECUTOR_BAD_BATCH' }),
      );
      const next = sequenceBatch(step([6], 5, [0]));
      expect(relativeError(ref.forward(next), await cpu.forward(next))).toBeLessThan(
        PARITY_TOLERANCE,
      );
    } finally {
      await cpu.dispose();
    }
    await expect(cpu.forward(sequenceBatch(step([1], 0, [0])))).rejects.toThrow(
      expect.objectContaining({ code: 'EXECUTOR_DISPOSED' }),
    );
  });

  it('says what would fit when the KV pool is past wasm32’s 4 GiB', async () => {
    const m = await model(GgmlType.Q8_0, 64);
    const { maxBlocks } = CpuWasmExecutor.kvCapacity(m, { blockSize: 16 });
    expect(maxBlocks).toBeGreaterThan(1000);
    await expect(
      CpuWasmExecutor.create(m, { numBlocks: maxBlocks + 1, blockSize: 16 }),
    ).rejects.toThrow(
      expect.objectContaining({
        name: 'CpuWasmError',
        code: 'CPU_WASM_TOO_LARGE',
        message: expect.stringContaining(`at most ${maxBlocks} KV blocks would`),
      }),
    );
    await expect(CpuWasmExecutor.create(m, { numBlocks: 4, threads: 0 })).rejects.toThrow(
      CpuWasmError,
    );
  });
});
