import { describe, expect, it } from 'vitest';
import { ExecutorError } from '../executor.js';
import { GgmlType } from '../ggml-type.js';
import { ggufModel, hfModel, makeBatch, SMALL_LLAMA } from '../test-helpers.js';
import { ReferenceExecutor } from './reference-executor.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++)
    max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

const PROMPT = [5, 17, 3, 88, 41, 41, 9, 60, 2, 33, 71, 12, 8, 90, 45, 1, 77, 23];

describe('ReferenceExecutor', () => {
  it('gives the same logits for a GGUF llama (permuted Q/K, interleaved rope) and its safetensors original', async () => {
    for (const options of [
      SMALL_LLAMA,
      { ...SMALL_LLAMA, architecture: 'qwen2' as const },
      {
        ...SMALL_LLAMA,
        llama3RopeScaling: {
          factor: 8,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalContextLength: 16,
        },
      },
    ]) {
      const fromGguf = new ReferenceExecutor(await ggufModel(options), { numBlocks: 4 });
      const fromHf = new ReferenceExecutor(await hfModel(options), { numBlocks: 4 });
      const batch = makeBatch([{ tokens: PROMPT, start: 0, blockTable: [2, 0] }]);
      const [a] = fromGguf.forward(batch);
      const [b] = fromHf.forward(batch);
      expect(maxAbsDiff(a!, b!), options.architecture).toBeLessThan(1e-4);
    }
  });

  it('computes a mixed batch of chunked prefill and decode exactly as each sequence alone', async () => {
    const model = await ggufModel(SMALL_LLAMA);
    const alone = new ReferenceExecutor(model, { numBlocks: 8 });
    const [full] = alone.forward(makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1] }]));
    const [other] = alone.forward(makeBatch([{ tokens: [4, 4, 9], start: 0, blockTable: [2] }]));

    const mixed = new ReferenceExecutor(model, { numBlocks: 8 });
    // Step 1: first 10 prompt tokens of A (no sample), all of B.
    const first = mixed.forward(
      makeBatch([
        { tokens: PROMPT.slice(0, 10), start: 0, blockTable: [5, 3], sample: false },
        { tokens: [4, 4], start: 0, blockTable: [7] },
      ]),
    );
    expect(first).toHaveLength(1);
    // Step 2: rest of A's prompt in scattered blocks, and a decode of B.
    const [a, b] = mixed.forward(
      makeBatch([
        { tokens: PROMPT.slice(10), start: 10, blockTable: [5, 3] },
        { tokens: [9], start: 2, blockTable: [7] },
      ]),
    );
    expect(maxAbsDiff(a!, full!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b!, other!)).toBeLessThan(1e-5);
  });

  it('keeps quantized models close to their f32 original', async () => {
    const f32 = new ReferenceExecutor(
      await ggufModel({ ...SMALL_LLAMA, intermediateSize: 256, hiddenSize: 256, numHeads: 4 }),
      { numBlocks: 2 },
    );
    const batch = makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1] }]);
    const [reference] = f32.forward(batch);
    const spread = Math.max(...reference!) - Math.min(...reference!);
    for (const [type, tolerance] of [
      [GgmlType.F16, 0.01],
      [GgmlType.BF16, 0.05],
      [GgmlType.Q8_0, 0.05],
      [GgmlType.Q6_K, 0.1],
      [GgmlType.Q5_K, 0.2],
      [GgmlType.Q4_K, 0.3],
      [GgmlType.Q4_0, 0.3],
      [GgmlType.Q5_0, 0.2],
      [GgmlType.Q4_1, 0.3],
      [GgmlType.Q5_1, 0.2],
      [GgmlType.Q3_K, 0.35],
      [GgmlType.Q2_K, 0.8],
      [GgmlType.IQ4_NL, 0.3],
      [GgmlType.IQ4_XS, 0.3],
    ] as const) {
      const model = await ggufModel({
        ...SMALL_LLAMA,
        intermediateSize: 256,
        hiddenSize: 256,
        numHeads: 4,
        weightType: type,
      });
      const [logits] = new ReferenceExecutor(model, { numBlocks: 2 }).forward(batch);
      expect(maxAbsDiff(logits!, reference!) / spread, `type ${type}`).toBeLessThan(tolerance);
    }
  });

  it('copies blocks for copy-on-write and swaps blocks out and back in', async () => {
    const model = await ggufModel(SMALL_LLAMA);
    const exec = new ReferenceExecutor(model, { numBlocks: 4, numHostBlocks: 2 });
    await exec.execute(makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1] }]));
    const [expected] = exec.forward(makeBatch([{ tokens: [3], start: 18, blockTable: [0, 1] }]));
    // Fork: the child shares block 0 and copies the partly filled block 1 into block 2.
    const forked = {
      ...makeBatch([{ tokens: [3], start: 18, blockTable: [0, 2] }]),
      copies: [[1, 2]] as const,
    };
    const [child] = exec.forward(forked);
    expect(maxAbsDiff(child!, expected!)).toBe(0);
    // Swap both blocks of the child out, then back in to other blocks.
    await exec.execute({
      ...makeBatch([{ tokens: [1], start: 0, blockTable: [3] }]),
      swapOut: [
        [0, 0],
        [2, 1],
      ],
    });
    const back = {
      ...makeBatch([{ tokens: [3], start: 18, blockTable: [1, 0] }]),
      swapIn: [
        [0, 1],
        [1, 0],
      ] as const,
    };
    const [restored] = exec.forward({ ...back, swapIn: back.swapIn });
    expect(maxAbsDiff(restored!, expected!)).toBe(0);
  });

  it('samples greedily, and the same seed gives the same tokens in any batch', async () => {
    const exec = new ReferenceExecutor(await ggufModel(SMALL_LLAMA), { numBlocks: 8 });
    const [logits] = exec.forward(makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1] }]));
    const greedy = await exec.execute(
      makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1] }]),
    );
    expect(greedy.tokens[0]).toBe(logits!.indexOf(Math.max(...logits!)));
    const sampling = { temperature: 1.5, seed: 1234, logprobs: 3 };
    const alone = await exec.execute(
      makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1], sampling }]),
    );
    const together = await exec.execute(
      makeBatch([
        { tokens: [7, 7, 7], start: 0, blockTable: [4], sampling: { temperature: 1 } },
        { tokens: PROMPT, start: 0, blockTable: [2, 3], sampling },
      ]),
    );
    expect(together.tokens[1]).toBe(alone.tokens[0]);
    expect(together.logprobs[1]!.logprob).toBeCloseTo(alone.logprobs[0]!.logprob, 5);
    expect(alone.logprobs[0]!.top).toHaveLength(3);
  });

  it('samples only tokens its mask allows, greedy or not', async () => {
    const exec = new ReferenceExecutor(await ggufModel(SMALL_LLAMA), { numBlocks: 8 });
    const allowedTokens = new Int32Array(3);
    for (const id of [7, 50]) allowedTokens[id >> 5]! |= 1 << (id & 31);
    const only50 = new Int32Array(3);
    only50[50 >> 5] = 1 << (50 & 31);
    const seen = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const { tokens } = await exec.execute(
        makeBatch([
          {
            tokens: PROMPT,
            start: 0,
            blockTable: [0, 1],
            sampling: { temperature: 2, seed, allowedTokens },
          },
          {
            tokens: PROMPT,
            start: 0,
            blockTable: [2, 3],
            sampling: { temperature: 0, allowedTokens: only50 },
          },
        ]),
      );
      seen.add(tokens[0]!);
      expect(tokens[1]).toBe(50);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([7, 50]);
  });

  it('rejects a malformed batch with a typed error and leaves the cache unchanged', async () => {
    const exec = new ReferenceExecutor(await ggufModel(SMALL_LLAMA), { numBlocks: 2 });
    const good = makeBatch([{ tokens: PROMPT, start: 0, blockTable: [0, 1] }]);
    const [before] = exec.forward(good);
    const cases: Array<[string, () => ReturnType<typeof makeBatch>]> = [
      ['outside the vocabulary', () => makeBatch([{ tokens: [96], start: 0, blockTable: [0] }])],
      ['outside [0, 2)', () => makeBatch([{ tokens: [1], start: 0, blockTable: [5] }])],
      ['cannot hold', () => ({ ...good, sequences: [{ ...good.sequences[0]!, blockTable: [0] }] })],
      ['maps to slot', () => ({ ...good, slotMapping: good.slotMapping.map((s) => s + 1) })],
      [
        'sampling.topP',
        () => makeBatch([{ tokens: [1], start: 0, blockTable: [0], sampling: { topP: 0 } }]),
      ],
      ['copy [0, 9]', () => ({ ...good, copies: [[0, 9]] })],
      [
        'sampling.allowedTokens must be an Int32Array or Uint32Array of 3 words',
        () =>
          makeBatch([
            {
              tokens: [1],
              start: 0,
              blockTable: [0],
              sampling: { allowedTokens: new Int32Array(2) },
            },
          ]),
      ],
      [
        'sampling.allowedTokens allows no token',
        () =>
          makeBatch([
            {
              tokens: [1],
              start: 0,
              blockTable: [0],
              sampling: { allowedTokens: new Int32Array(3) },
            },
          ]),
      ],
    ];
    for (const [message, batch] of cases) {
      await expect(exec.execute(batch())).rejects.toSatisfy(
        (e: unknown) =>
          e instanceof ExecutorError &&
          e.code === 'EXECUTOR_BAD_BATCH' &&
          e.message.includes(message),
      );
    }
    const [after] = exec.forward(
      makeBatch([{ tokens: [PROMPT[17]!], start: 17, blockTable: [0, 1] }]),
    );
    expect(maxAbsDiff(after!, before!)).toBe(0);
  });
});
