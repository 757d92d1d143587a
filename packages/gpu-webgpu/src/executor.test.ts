// Parity of the WebGPU executor with ReferenceExecutor (the oracle), on a real adapter: a GPU, or
// Mesa's lavapipe where there is none. Never skipped.
import {
  type Architecture,
  byteLevelTokenizer,
  GgmlType,
  type GgmlTypeName,
  loadSyntheticModel,
  type Model,
  type ModelExecutor,
  ReferenceExecutor,
  type SamplingParams,
  sequenceBatch,
  type TokenLogprobs,
  tokenAllowed,
} from '@x/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuDevice } from './device.js';
import { WebGpuExecutor } from './executor.js';
import { requestGpuDevice } from './index.js';
import {
  compare,
  dequantized,
  GGML_TOLERANCE,
  ids,
  SHAPE,
  step,
  TOLERANCE,
  vInF32,
} from './test-helpers.js';

let gpu: GpuDevice;
beforeAll(async () => {
  gpu = await requestGpuDevice();
});
afterAll(() => gpu?.device.destroy());

async function tinyModel(
  weightType: number,
  options: { architecture?: Architecture; hidden?: number; tie?: boolean } = {},
): Promise<Model> {
  const hidden = options.hidden ?? 64;
  return loadSyntheticModel(
    {
      architecture: options.architecture ?? 'llama',
      tokenizer: byteLevelTokenizer(),
      hiddenSize: hidden,
      intermediateSize: hidden * 2,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      contextLength: 256,
      weightType,
      tieWordEmbeddings: options.tie,
      logitScale: 4,
      seed: 11,
    },
    `tiny-${weightType}.gguf`,
  );
}

/**
 * The WebGPU executor on `m`, and the reference on the same weights dequantized to F32 (with
 * `ggml: true`, on `m` itself, quantizing activations as ggml's CPU backend does).
 */
function pair(
  m: Model,
  options: { ggml?: boolean; kvCacheDtype?: 'f32' | 'f16' } = {},
): Promise<[ReferenceExecutor, WebGpuExecutor]> {
  return WebGpuExecutor.create(m, {
    ...SHAPE,
    gpu,
    kvCacheDtype: options.kvCacheDtype,
    maxTokensPerStep: 128,
    maxSequencesPerStep: 8,
    maxModelLen: 256,
  }).then((exe) => [new ReferenceExecutor(options.ggml ? m : dequantized(m), SHAPE), exe]);
}

/** Every weight type @x/model reads: each needs a WebGPU kernel. */
const TYPES = Object.keys(GgmlType) as GgmlTypeName[];
/** Types of 256-element super-blocks: their fixtures need rows of 256. */
const K_QUANTS: readonly string[] = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_XS'];

describe('WebGpuExecutor parity with ReferenceExecutor', () => {
  it.each(TYPES)('%s weights: a mixed batch of prefills and decodes', async (name) => {
    const kQuant = K_QUANTS.includes(name);
    const m = await tinyModel(GgmlType[name], { hidden: kQuant ? 256 : 64 });
    const [ref, exe] = await pair(m);
    // Two prompts prefilled together, then a step mixing a decode, a prefill chunk and a new prompt.
    const a = ids('In the beginning God created');
    const b = ids('The quick brown fox');
    const first = sequenceBatch(step(a, 0, [0, 1]), step(b, 0, [2, 7]));
    expect(await compare(ref, exe, first)).toBeLessThan(TOLERANCE);
    const c = ids('Once upon a time, in a land far away, there lived');
    const second = sequenceBatch(
      step([32], a.length, [0, 1]),
      step(c.slice(0, 20), 0, [3, 4, 5, 6], { sample: false }),
      step(ids(' jumps'), b.length, [2, 7]),
    );
    expect(await compare(ref, exe, second)).toBeLessThan(TOLERANCE);
    const third = sequenceBatch(
      step(c.slice(20), 20, [3, 4, 5, 6]),
      step([101], a.length + 1, [0, 1]),
    );
    expect(await compare(ref, exe, third)).toBeLessThan(TOLERANCE);
    await exe.dispose();
  });

  it.each(TYPES)(
    "%s weights: close to the reference's ggml-faithful numerics (activations quantized as llama.cpp's CPU backend does)",
    async (name) => {
      const kQuant = K_QUANTS.includes(name);
      const m = await tinyModel(GgmlType[name], { hidden: kQuant ? 256 : 64 });
      const [ref, exe] = await pair(m, { ggml: true });
      const a = ids('In the beginning God created');
      const prefill = sequenceBatch(step(a, 0, [0, 1]), step(ids('x'), 0, [2]));
      const decode = sequenceBatch(step([32], a.length, [0, 1]), step([33], 1, [2]));
      const errors = [await compare(ref, exe, prefill), await compare(ref, exe, decode)];
      for (const e of errors) expect(e).toBeLessThan(GGML_TOLERANCE[name]!);
      // Not equal either, except for F32: the difference is the activation rounding.
      if (name !== 'F32') expect(Math.max(...errors)).toBeGreaterThan(TOLERANCE);
      await exe.dispose();
    },
  );

  it.each([
    ['qwen2 (QKV bias, NeoX rope)', 'qwen2', false, false],
    [
      'qwen2 with V in another type than Q and K (three matmuls, three biases)',
      'qwen2',
      false,
      true,
    ],
    ['mistral with tied embeddings', 'mistral', true, false],
  ] as const)('%s', async (_, architecture, tie, mixed) => {
    const q8 = await tinyModel(GgmlType.Q8_0, { architecture, tie });
    const m = mixed ? vInF32(q8) : q8;
    const [ref, exe] = await pair(m);
    // 49 tokens: the tiled prefill matmuls (bias included); then a decode step: the split-K ones.
    const prompt = ids('Hello there, general Kenobi. You are a bold one.');
    const batch = sequenceBatch(step(prompt, 0, [7, 9, 10, 11]), step(ids('x'), 0, [4]));
    expect(await compare(ref, exe, batch)).toBeLessThan(TOLERANCE);
    const next = sequenceBatch(step([33], prompt.length, [7, 9, 10, 11]), step([34], 1, [4]));
    expect(await compare(ref, exe, next)).toBeLessThan(TOLERANCE);
    // Q, K and V of one type run as one matmul; of different types, as three.
    const kernels = (await exe.profile(next)).map((timing) => timing.kernel);
    expect(kernels.filter((kernel) => /^attn_[qkv]/.test(kernel)).sort()).toEqual(
      mixed ? ['attn_k', 'attn_q', 'attn_v'] : ['attn_q·k·v'],
    );
    await exe.dispose();
  });

  it.each([
    ['qwen2 (biases)', 'qwen2', false],
    ['mistral with tied embeddings', 'mistral', true],
  ] as const)(
    '%s: matrices over the binding limit run as row ranges, with the same logits',
    async (_, architecture, tie) => {
      const m = await tinyModel(GgmlType.Q8_0, { architecture, tie });
      const ref = new ReferenceExecutor(dequantized(m), SHAPE);
      // 4 KiB bindings: 56 rows of 72 bytes, so the 257-row embedding and output take 5 each, and
      // Q·K·V, gate and up 3.
      const exe = await WebGpuExecutor.create(m, {
        ...SHAPE,
        gpu,
        maxTokensPerStep: 128,
        maxSequencesPerStep: 8,
        maxModelLen: 256,
        maxWeightBindingBytes: 4096,
      });
      const prompt = ids('Hello there, general Kenobi. You are a bold one.');
      const batch = sequenceBatch(step(prompt, 0, [7, 9, 10, 11]), step(ids('x'), 0, [4]));
      expect(await compare(ref, exe, batch)).toBeLessThan(TOLERANCE);
      const next = sequenceBatch(step([33], prompt.length, [7, 9, 10, 11]), step([34], 1, [4]));
      expect(await compare(ref, exe, next)).toBeLessThan(TOLERANCE);
      const dispatches = Object.fromEntries(
        (await exe.profile(next)).map((k) => [k.kernel, k.dispatches]),
      );
      expect(dispatches).toMatchObject({
        token_embd: 5,
        output: 5,
        attn_q·k·v: 2 * 3,
        ffn_gate·up: 2 * 3,
      });
      await exe.dispose();
    },
  );

  it.each([
    ['f32', TOLERANCE],
    ['f16', 2e-3],
  ] as const)(
    'attends over contexts longer than one attention chunk: a 150-token prompt in two chunks, then decodes (%s K/V)',
    async (kvCacheDtype, tolerance) => {
      const m = await tinyModel(GgmlType.Q8_0);
      const [ref, exe] = await pair(m, { kvCacheDtype });
      const prompt = Array.from({ length: 150 }, (_, i) => 32 + ((i * 7) % 90));
      const table = Array.from({ length: 11 }, (_, b) => 20 - b);
      for (const batch of [
        sequenceBatch(step(prompt.slice(0, 100), 0, table, { sample: true })),
        sequenceBatch(step(prompt.slice(100), 100, table), step(ids('short'), 0, [0])),
        sequenceBatch(step([65], 150, table), step([66], 5, [0])),
      ]) {
        expect(await compare(ref, exe, batch)).toBeLessThan(tolerance);
      }
      await exe.dispose();
    },
  );

  it.each([
    ['f32', TOLERANCE],
    ['f16', 2e-3],
  ] as const)(
    'shares prefix blocks, forks with a block copy, and swaps out and back in (%s K/V)',
    async (kvCacheDtype, tolerance) => {
      const m = await tinyModel(GgmlType.Q8_0);
      const [ref, exe] = await pair(m, { kvCacheDtype });
      expect(exe.info.kvCacheBytes).toBe(
        2 * 2 * SHAPE.numBlocks * SHAPE.blockSize * 32 * (kvCacheDtype === 'f16' ? 2 : 4),
      );
      const prefix = ids('A shared prefix of exactly 32 b.'); // two full blocks
      expect(prefix.length).toBe(32);
      const tail = ids(' and more');
      // Sequence 1 fills blocks 0, 1 and starts block 2.
      expect(
        await compare(ref, exe, sequenceBatch(step([...prefix, ...tail], 0, [0, 1, 2]))),
      ).toBeLessThan(tolerance);
      // Sequence 2 reuses blocks 0 and 1 (a prefix-cache hit) and computes only its own tail;
      // sequence 3 forks sequence 1: block 2 copied to block 3 before its next token.
      const fork = {
        ...sequenceBatch(
          step(ids(' but different'), 32, [0, 1, 4]),
          step([33], 32 + tail.length, [0, 1, 3]),
        ),
        copies: [[2, 3]] as Array<[number, number]>,
      };
      expect(await compare(ref, exe, fork)).toBeLessThan(tolerance);
      // Preempt sequence 1 by swapping its last block out, reuse that device block for a new
      // sequence, then swap it back into another block and go on.
      const out = {
        ...sequenceBatch(step(ids('filler text'), 0, [2])),
        swapOut: [[2, 5]] as Array<[number, number]>,
      };
      expect(await compare(ref, exe, out)).toBeLessThan(tolerance);
      const back = {
        ...sequenceBatch(step([44], 32 + tail.length, [0, 1, 6])),
        swapIn: [[5, 6]] as Array<[number, number]>,
      };
      expect(await compare(ref, exe, back)).toBeLessThan(tolerance);
      await exe.dispose();
    },
  );

  it.each(['F32', 'Q8_0', 'Q4_K'] as const)(
    '%s: the same greedy tokens as the reference for 64 steps, batched',
    async (name) => {
      const m = await tinyModel(GgmlType[name], { hidden: name === 'Q4_K' ? 256 : 64 });
      const [ref, exe] = await pair(m);
      const prompts = [ids('In the beginning'), ids('x'), ids('Hello, world! ')];
      const tables = [
        [0, 1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10, 11],
        [12, 13, 14, 15, 16, 17],
      ];
      const run = async (executor: ModelExecutor) => {
        const outputs: number[][] = prompts.map(() => []);
        let batch = sequenceBatch(
          ...prompts.map((p, i) => step(p, 0, tables[i]!, { sampling: { temperature: 0 } })),
        );
        for (let n = 0; n < 64; n++) {
          const { tokens } = await executor.execute(batch);
          tokens.forEach((t, i) => {
            outputs[i]!.push(t);
          });
          batch = sequenceBatch(
            ...prompts.map((p, i) =>
              step([tokens[i]!], p.length + n, tables[i]!, { sampling: { temperature: 0 } }),
            ),
          );
        }
        return outputs;
      };
      const want = await run(ref);
      const got = await run(exe);
      expect(got).toEqual(want);
      await exe.dispose();
    },
  );
});

/** What {@link sampleSteps} returns: each sequence's tokens, and each step's log-probabilities. */
interface Sampled {
  outputs: number[][];
  logprobs: Array<Array<TokenLogprobs | undefined>>;
}

/**
 * Prefills `prompts` (4 blocks each) and decodes `steps - 1` more tokens, sampling each sequence
 * with its `sampling[i]` and passing its prompt and output so far (penalties, seeded draws).
 */
async function sampleSteps(
  executor: ModelExecutor,
  prompts: number[][],
  sampling: readonly SamplingParams[],
  steps: number,
): Promise<Sampled> {
  const tables = prompts.map((_, i) => [i * 4, i * 4 + 1, i * 4 + 2, i * 4 + 3]);
  const outputs: number[][] = prompts.map(() => []);
  const logprobs: Array<Array<TokenLogprobs | undefined>> = [];
  for (let n = 0; n < steps; n++) {
    const batch = sequenceBatch(
      ...prompts.map((p, i) =>
        n === 0
          ? step(p, 0, tables[i]!, {
              sampling: sampling[i],
              promptTokenIds: p,
              outputTokenIds: [],
            })
          : step([outputs[i]!.at(-1)!], p.length + n - 1, tables[i]!, {
              sampling: sampling[i],
              promptTokenIds: p,
              outputTokenIds: outputs[i]!.slice(),
            }),
      ),
    );
    const result = await executor.execute(batch);
    result.tokens.forEach((t, i) => {
      outputs[i]!.push(t);
    });
    logprobs.push(result.logprobs);
  }
  return { outputs, logprobs };
}

/** The same tokens; log-probabilities equal to f32 rounding of the two forward passes. */
function expectSameSampling(got: Sampled, want: Sampled): void {
  expect(got.outputs).toEqual(want.outputs);
  for (const [n, stepLogprobs] of got.logprobs.entries()) {
    for (const [i, lp] of stepLogprobs.entries()) {
      const expected = want.logprobs[n]![i];
      if (!expected || !lp) {
        expect(lp).toEqual(expected);
        continue;
      }
      expect(lp.logprob).toBeCloseTo(expected.logprob, 3);
      expect(lp.top.map((t) => t.tokenId)).toEqual(expected.top.map((t) => t.tokenId));
      for (const [k, t] of lp.top.entries()) {
        expect(t.logprob).toBeCloseTo(expected.top[k]!.logprob, 3);
      }
    }
  }
}

/** A token mask (xgrammar's layout) over `vocab` tokens allowing `allowed`. */
function maskOf(vocab: number, allowed: Iterable<number>): Int32Array {
  const mask = new Int32Array(Math.ceil(vocab / 32));
  for (const id of allowed) mask[id >> 5]! |= 1 << (id & 31);
  return mask;
}

describe('WebGpuExecutor sampling on the device', () => {
  it('draws what the reference sampler draws: seeded top-k/top-p/min-p, penalties, logprobs', async () => {
    const m = await tinyModel(GgmlType.F32);
    const [ref, exe] = await pair(m);
    const sampling = [
      { temperature: 0.8, topK: 40, seed: 7 },
      { temperature: 1, topP: 0.9, minP: 0.02, seed: 8, logprobs: 3 },
      {
        temperature: 0.7,
        repetitionPenalty: 1.3,
        presencePenalty: 0.5,
        frequencyPenalty: 0.4,
        seed: 9,
      },
      { temperature: 0, logprobs: 0 },
    ];
    const prompts = [ids('In the beginning'), ids('x'), ids('abcabcabc'), ids('Hello')];
    const want = await sampleSteps(ref, prompts, sampling, 16);
    expectSameSampling(await sampleSteps(exe, prompts, sampling, 16), want);
    await exe.dispose();
  });

  it("applies token masks on the device: the reference's tokens, greedy and seeded, and raw logprobs", async () => {
    const m = await tinyModel(GgmlType.F32);
    const [ref, exe] = await pair(m);
    const V = m.config.vocabSize;
    const range = (from: string, to: string) =>
      Array.from(
        { length: to.charCodeAt(0) - from.charCodeAt(0) + 1 },
        (_, i) => from.charCodeAt(0) + i,
      );
    const lower = maskOf(V, [...range('a', 'z'), 32]);
    const sampling: SamplingParams[] = [
      { temperature: 0, allowedTokens: lower },
      { temperature: 0.8, topK: 5, seed: 7, allowedTokens: maskOf(V, range('0', '9')) },
      {
        temperature: 1,
        topP: 0.9,
        minP: 0.02,
        seed: 8,
        logprobs: 3,
        // Every other token: the raw top log-probabilities include forbidden ones.
        allowedTokens: maskOf(
          V,
          Array.from({ length: Math.ceil(V / 2) }, (_, i) => 2 * i),
        ),
      },
      {
        temperature: 0.7,
        repetitionPenalty: 1.3,
        presencePenalty: -1,
        seed: 9,
        // Biases as large as allowed on tokens the mask forbids.
        logitBias: new Map([
          [ids('e')[0]!, 100],
          [ids(' ')[0]!, 100],
        ]),
        allowedTokens: maskOf(V, range('A', 'Z')),
      },
      // One token, the last of the vocabulary (the only bit of the mask's last word).
      { temperature: 0.5, seed: 10, logprobs: 2, allowedTokens: maskOf(V, [V - 1]) },
      // Unmasked, among masked rows.
      { temperature: 0.9, seed: 11 },
    ];
    const prompts = [
      ids('In the beginning'),
      ids('x'),
      ids('abcabcabc'),
      ids('Hello'),
      ids('end'),
      ids('free'),
    ];
    const want = await sampleSteps(ref, prompts, sampling, 12);
    const got = await sampleSteps(exe, prompts, sampling, 12);
    expectSameSampling(got, want);
    got.outputs.forEach((tokens, i) => {
      const mask = sampling[i]!.allowedTokens;
      if (mask) expect(tokens.filter((t) => !tokenAllowed(mask, t))).toEqual([]);
    });
    expect(got.outputs[4]).toEqual(new Array(12).fill(V - 1));
    // Without the masks the same sequences draw other tokens: the masks changed something.
    const free = await sampleSteps(
      exe,
      prompts,
      sampling.map(({ allowedTokens: _, ...rest }) => rest),
      12,
    );
    expect(free.outputs).not.toEqual(got.outputs);
    await exe.dispose();
  });
});

describe('WebGpuExecutor errors', () => {
  it('rejects a malformed batch and one over its budget, and works after', async () => {
    const m = await tinyModel(GgmlType.F32);
    const [ref, exe] = await pair(m);
    const bad = sequenceBatch(step(ids('abc'), 0, [99]));
    await expect(exe.execute(bad)).rejects.toMatchObject({ code: 'EXECUTOR_BAD_BATCH' });
    const long = sequenceBatch(
      step(
        new Array(200).fill(65),
        0,
        Array.from({ length: 13 }, (_, i) => i),
      ),
    );
    await expect(exe.execute(long)).rejects.toThrow(
      /over this executor's budget \(maxTokensPerStep 128/,
    );
    const ok = sequenceBatch(step(ids('abc'), 0, [1]));
    // A token mask allowing nothing: validateBatch's typed error, before anything runs.
    const masked = sequenceBatch({
      ...step(ids('abc'), 0, [1]),
      sampling: { allowedTokens: new Int32Array(Math.ceil(m.config.vocabSize / 32)) },
    });
    await expect(exe.execute(masked)).rejects.toMatchObject({
      code: 'EXECUTOR_BAD_BATCH',
      message: expect.stringMatching(/sampling\.allowedTokens allows no token/),
    });
    expect(await compare(ref, exe, ok)).toBeLessThan(1e-5);
    await exe.dispose();
    await expect(exe.execute(ok)).rejects.toMatchObject({ code: 'EXECUTOR_DISPOSED' });
  });

  it('says so when its device is lost', async () => {
    const own = await requestGpuDevice();
    const m = await tinyModel(GgmlType.F32);
    const exe = await WebGpuExecutor.create(m, { ...SHAPE, gpu: own, maxTokensPerStep: 16 });
    own.device.destroy();
    await own.device.lost;
    await expect(exe.execute(sequenceBatch(step(ids('a'), 0, [0])))).rejects.toMatchObject({
      name: 'GpuExecutorError',
      code: 'GPU_DEVICE_LOST',
    });
    await exe.dispose();
  });

  it('refuses a weight type it has no kernel for, naming the tensor', async () => {
    const m = await tinyModel(GgmlType.F32);
    const odd = { ...m, weights: { ...m.weights, output: { ...m.weights.output, type: 99 } } };
    await expect(WebGpuExecutor.create(odd, { ...SHAPE, gpu })).rejects.toMatchObject({
      code: 'GPU_UNSUPPORTED_MODEL',
    });
  });

  it('refuses a matrix whose single row is over the binding limit, naming it', async () => {
    const m = await tinyModel(GgmlType.Q8_0);
    await expect(
      WebGpuExecutor.create(m, { ...SHAPE, gpu, maxWeightBindingBytes: 64 }),
    ).rejects.toMatchObject({
      code: 'GPU_UNSUPPORTED_MODEL',
      message: expect.stringMatching(
        /one row is 72 bytes, over this device's storage binding limit of 64/,
      ),
    });
  });

  it('reports its device memory', async () => {
    const m = await tinyModel(GgmlType.Q8_0);
    const exe = await WebGpuExecutor.create(m, { ...SHAPE, gpu, maxTokensPerStep: 64 });
    const { info } = exe;
    expect(info.weightBytes).toBeGreaterThan(0);
    expect(info.kvCacheBytes).toBe(2 * 2 * SHAPE.numBlocks * SHAPE.blockSize * 32 * 4);
    expect(info.samplerBytes).toBeGreaterThan(0);
    expect(info.peakDeviceBytes).toBe(
      info.weightBytes + info.kvCacheBytes + info.arenaBytes + info.samplerBytes,
    );
    await exe.dispose();
  });
});
