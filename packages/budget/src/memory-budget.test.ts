import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kvBytesPerToken } from './kv-bytes.js';
import { type ForModelOptions, MemoryBudget, ModelMemoryBudget } from './memory-budget.js';

const MiB = 1_048_576;

/** Llama-3-8B: shapes from its config.json, parameter count from its safetensors index. */
const LLAMA_3_8B = {
  numLayers: 32,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 128,
  params: 8_030_261_248,
};

describe('MemoryBudget.estimate', () => {
  it('splits 16 GiB between a 7B model at 4.5 bits, overhead and the KV cache', () => {
    const budget = MemoryBudget.estimate(16_384, 7_000_000_000, 4.5);
    // 16 384 MiB × 1 048 576
    expect(budget.totalSystemBytes).toBe(17_179_869_184);
    // 7e9 × 4.5 / 8
    expect(budget.modelWeightBytes).toBe(3_937_500_000);
    // 512 MiB + 10 % of 3 937 500 000 = 536 870 912 + 393 750 000
    expect(budget.runtimeOverhead).toBe(930_620_912);
    // 17 179 869 184 − 3 937 500 000 − 930 620 912
    expect(budget.availableBytes).toBe(12_311_748_272);
    expect(budget.kvCacheBudget).toBe(12_311_748_272);
    expect(budget.fits).toBe(true);
    expect(budget.shortfallBytes).toBe(0);
  });

  it('fits 23482 FP16 KV tokens of 32 layers × 32 heads × 128 dims in that budget', () => {
    const budget = MemoryBudget.estimate(16_384, 7_000_000_000, 4.5);
    // 2 × 32 × 32 × 128 × 2 = 524 288 bytes per token;
    // 23 482 × 524 288 = 12 311 330 816 ≤ 12 311 748 272 < 23 483 × 524 288 = 12 311 855 104
    expect(budget.maxContextLength(32, 32, 128)).toBe(23_482);
  });

  it('reports a model that does not fit with its shortfall instead of a negative budget', () => {
    const budget = MemoryBudget.estimate(16_384, 70_000_000_000, 4.5);
    // weights 39 375 000 000 + overhead 536 870 912 + 3 937 500 000 = 43 849 370 912 needed
    expect(budget.fits).toBe(false);
    expect(budget.shortfallBytes).toBe(43_849_370_912 - 17_179_869_184);
    expect(budget.shortfallBytes).toBe(26_669_501_728);
    expect(budget.availableBytes).toBe(0);
    expect(budget.kvCacheBudget).toBe(0);
    expect(budget.maxContextLength(80, 64, 128)).toBe(0);
  });

  it('fits a model that takes exactly all the memory, with nothing left for the KV cache', () => {
    const noOverhead = { overheadFloorMb: 0, overheadFraction: 0 };
    // 2^29 params × 16 bits = 2^30 bytes = 1024 MiB
    const exact = MemoryBudget.estimate(1024, 2 ** 29, 16, noOverhead);
    expect(exact.fits).toBe(true);
    expect(exact.kvCacheBudget).toBe(0);
    expect(exact.shortfallBytes).toBe(0);
    const oneMore = MemoryBudget.estimate(1024, 2 ** 29 + 1, 16, noOverhead);
    expect(oneMore.fits).toBe(false);
    expect(oneMore.shortfallBytes).toBe(2);
  });

  it('counts MB as MiB (1024 × 1024 bytes), rounding a fractional byte down', () => {
    expect(MemoryBudget.BYTES_PER_MB).toBe(1_048_576);
    expect(MemoryBudget.estimate(1, 1, 8).totalSystemBytes).toBe(1_048_576);
    expect(MemoryBudget.estimate(0.5, 1, 8).totalSystemBytes).toBe(524_288);
    expect(MemoryBudget.estimate(1e-6, 1, 8).totalSystemBytes).toBe(1);
  });

  it('rounds weight bytes up to whole bytes but not past float noise', () => {
    // 3 params × 1 bit = 3 bits: one byte
    expect(MemoryBudget.estimate(1, 3, 1).modelWeightBytes).toBe(1);
    // 1.125 bits (Q1_0) × 1e9 = 140 625 000 bytes exactly
    expect(MemoryBudget.estimate(1024, 1_000_000_000, 1.125).modelWeightBytes).toBe(140_625_000);
    // 7e9 × 4.85 / 8 is 4243749999.9999995 in floating point; the exact value is 4 243 750 000
    expect(MemoryBudget.estimate(16_384, 7_000_000_000, 4.85).modelWeightBytes).toBe(4_243_750_000);
  });

  it('takes the overhead floor and fraction as options', () => {
    const none = MemoryBudget.estimate(1024, 100_000_000, 8, {
      overheadFloorMb: 0,
      overheadFraction: 0,
    });
    expect(none.runtimeOverhead).toBe(0);
    expect(none.kvCacheBudget).toBe(1024 * MiB - 100_000_000);
    // 1024 MiB + 20 % of 100 000 000
    const custom = MemoryBudget.estimate(4096, 100_000_000, 8, {
      overheadFloorMb: 1024,
      overheadFraction: 0.2,
    });
    expect(custom.runtimeOverhead).toBe(1_073_741_824 + 20_000_000);
    expect(
      MemoryBudget.estimate(4096, 100_000_000, 8, { overheadFraction: 0 }).runtimeOverhead,
    ).toBe(512 * MiB);
  });

  it('is an immutable value that serialises to plain JSON', () => {
    const budget = MemoryBudget.estimate(16_384, 7_000_000_000, 4.5);
    expect(Object.isFrozen(budget)).toBe(true);
    expect(new MemoryBudget(16_384, 7_000_000_000, 4.5)).toEqual(budget);
    expect(JSON.parse(JSON.stringify(budget))).toEqual({
      totalSystemBytes: 17_179_869_184,
      availableBytes: 12_311_748_272,
      modelWeightBytes: 3_937_500_000,
      kvCacheBudget: 12_311_748_272,
      runtimeOverhead: 930_620_912,
      fits: true,
      shortfallBytes: 0,
    });
  });

  it.each([
    ['totalAvailableMb', () => MemoryBudget.estimate(0, 7e9, 4.5)],
    ['totalAvailableMb', () => MemoryBudget.estimate(-1, 7e9, 4.5)],
    ['totalAvailableMb', () => MemoryBudget.estimate(Number.NaN, 7e9, 4.5)],
    ['totalAvailableMb', () => MemoryBudget.estimate(Number.POSITIVE_INFINITY, 7e9, 4.5)],
    ['totalAvailableMb', () => MemoryBudget.estimate(2 ** 40, 7e9, 4.5)],
    ['modelParams', () => MemoryBudget.estimate(16_384, 0, 4.5)],
    ['modelParams', () => MemoryBudget.estimate(16_384, -7e9, 4.5)],
    ['modelParams', () => MemoryBudget.estimate(16_384, 1.5, 4.5)],
    ['modelParams', () => MemoryBudget.estimate(16_384, Number.NaN, 4.5)],
    ['modelParams', () => MemoryBudget.estimate(16_384, Number.MAX_SAFE_INTEGER, 16)],
    ['bitsPerWeight', () => MemoryBudget.estimate(16_384, 7e9, 0)],
    ['bitsPerWeight', () => MemoryBudget.estimate(16_384, 7e9, -4)],
    ['bitsPerWeight', () => MemoryBudget.estimate(16_384, 7e9, Number.POSITIVE_INFINITY)],
    ['overheadFloorMb', () => MemoryBudget.estimate(16_384, 7e9, 4.5, { overheadFloorMb: -1 })],
    ['overheadFraction', () => MemoryBudget.estimate(1, 1, 1, { overheadFraction: Number.NaN })],
    ['numLayers', () => MemoryBudget.estimate(16_384, 7e9, 4.5).maxContextLength(0, 32, 128)],
    ['numHeads', () => MemoryBudget.estimate(16_384, 7e9, 4.5).maxContextLength(32, 1.5, 128)],
    ['headDim', () => MemoryBudget.estimate(16_384, 7e9, 4.5).maxContextLength(32, 32, -128)],
  ])('throws a RangeError naming %s when it is bad', (name, call) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(name);
  });
});

describe('MemoryBudget.forModel', () => {
  const in24GiB: ForModelOptions = { totalAvailableMb: 24_576, bitsPerWeight: 4.5 };

  it('sizes Llama-3-8B at 4.5 bits in 24 GiB with its GQA KV heads at f16', () => {
    const budget = MemoryBudget.forModel(LLAMA_3_8B, in24GiB);
    expect(budget).toBeInstanceOf(ModelMemoryBudget);
    expect(budget).toBeInstanceOf(MemoryBudget);
    // 8 030 261 248 × 4.5 / 8
    expect(budget.modelWeightBytes).toBe(4_517_021_952);
    // 536 870 912 + ⌈451 702 195.2⌉
    expect(budget.runtimeOverhead).toBe(988_573_108);
    // 25 769 803 776 − 4 517 021 952 − 988 573 108
    expect(budget.kvCacheBudget).toBe(20_264_208_716);
    expect(budget.kvDtype).toBe('f16');
    expect(budget.kvBytesPerToken).toBe(131_072);
    // ⌊20 264 208 716 / 131 072⌋
    expect(budget.maxTokens).toBe(154_603);
    expect(budget.blockSize).toBe(16);
    expect(budget.kvBlockBytes).toBe(2_097_152);
    // ⌊20 264 208 716 / 2 097 152⌋
    expect(budget.numKvBlocks).toBe(9_662);
  });

  it('holds four times the tokens of the source formula, which ignores GQA', () => {
    const budget = MemoryBudget.forModel(LLAMA_3_8B, in24GiB);
    // ⌊20 264 208 716 / 524 288⌋
    expect(budget.maxContextLength(32, 32, 128)).toBe(38_650);
    expect(budget.maxTokens).toBe(154_603);
  });

  it('counts concurrent sequences in whole blocks of a paged cache', () => {
    const budget = MemoryBudget.forModel(LLAMA_3_8B, in24GiB);
    // 8192 tokens = 512 blocks; ⌊9662 / 512⌋
    expect(budget.maxConcurrentSequences(8192)).toBe(18);
    // 8193 tokens take 513 blocks; ⌊9662 / 513⌋
    expect(budget.maxConcurrentSequences(8193)).toBe(18);
    // a 1-token sequence still takes a whole block
    expect(budget.maxConcurrentSequences(1)).toBe(9_662);
    // 2048 tokens = 128 blocks; ⌊9662 / 128⌋
    expect(budget.maxConcurrentSequences(2048)).toBe(75);
    // longer than the whole cache
    expect(budget.maxConcurrentSequences(200_000)).toBe(0);
  });

  it('fits more tokens with a q8_0 cache and fewer with f32', () => {
    const q8 = MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, kvDtype: 'q8_0' });
    expect(q8.kvBytesPerToken).toBe(69_632);
    // ⌊20 264 208 716 / 69 632⌋, ⌊20 264 208 716 / (16 × 69 632)⌋
    expect(q8.maxTokens).toBe(291_018);
    expect(q8.numKvBlocks).toBe(18_188);
    const f32 = MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, kvDtype: 'f32' });
    // ⌊20 264 208 716 / 262 144⌋
    expect(f32.maxTokens).toBe(77_301);
  });

  it('takes another block size', () => {
    const budget = MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, blockSize: 32 });
    expect(budget.kvBlockBytes).toBe(4_194_304);
    // ⌊20 264 208 716 / 4 194 304⌋
    expect(budget.numKvBlocks).toBe(4_831);
    // 8192 tokens = 256 blocks of 32; ⌊4831 / 256⌋
    expect(budget.maxConcurrentSequences(8192)).toBe(18);
  });

  it('reports zero tokens, blocks and sequences for a model that does not fit', () => {
    const budget = MemoryBudget.forModel(LLAMA_3_8B, { totalAvailableMb: 4096, bitsPerWeight: 8 });
    // weights 8 030 261 248 + overhead 536 870 912 + ⌈803 026 124.8⌉ − 4 294 967 296
    expect(budget.fits).toBe(false);
    expect(budget.shortfallBytes).toBe(5_075_190_989);
    expect(budget.maxTokens).toBe(0);
    expect(budget.numKvBlocks).toBe(0);
    expect(budget.maxConcurrentSequences(1)).toBe(0);
  });

  it('is an immutable value that serialises to plain JSON', () => {
    const budget = MemoryBudget.forModel(LLAMA_3_8B, in24GiB);
    expect(Object.isFrozen(budget)).toBe(true);
    expect(JSON.parse(JSON.stringify(budget))).toMatchObject({
      kvCacheBudget: 20_264_208_716,
      kvDtype: 'f16',
      kvBytesPerToken: 131_072,
      numKvBlocks: 9_662,
    });
  });

  it.each([
    ['params', () => MemoryBudget.forModel({ ...LLAMA_3_8B, params: 0 }, in24GiB)],
    ['numKvHeads', () => MemoryBudget.forModel({ ...LLAMA_3_8B, numKvHeads: 5 }, in24GiB)],
    ['headDim', () => MemoryBudget.forModel({ ...LLAMA_3_8B, headDim: 0 }, in24GiB)],
    [
      'totalAvailableMb',
      () => MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, totalAvailableMb: -1 }),
    ],
    ['bitsPerWeight', () => MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, bitsPerWeight: 0 })],
    ['blockSize', () => MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, blockSize: 0 })],
    ['blockSize', () => MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, blockSize: 16.5 })],
    ['kvDtype', () => MemoryBudget.forModel(LLAMA_3_8B, { ...in24GiB, kvDtype: 'bf16' as 'f16' })],
    ['contextLength', () => MemoryBudget.forModel(LLAMA_3_8B, in24GiB).maxConcurrentSequences(0)],
    [
      'contextLength',
      () => MemoryBudget.forModel(LLAMA_3_8B, in24GiB).maxConcurrentSequences(Number.NaN),
    ],
  ])('throws a RangeError naming %s when it is bad', (name, call) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(name);
  });
});

describe('MemoryBudget invariants', () => {
  const totalAvailableMb = fc.double({ min: 1e-3, max: 2 ** 24, noNaN: true });
  const modelParams = fc
    .tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }))
    .map(([a, b]) => a * b);
  const bitsPerWeight = fc.double({ min: 0.5, max: 32, noNaN: true });
  const overhead = fc.record(
    {
      overheadFloorMb: fc.double({ min: 0, max: 4096, noNaN: true }),
      overheadFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    },
    { requiredKeys: [] },
  );
  const shape = fc
    .record({
      numLayers: fc.integer({ min: 1, max: 128 }),
      numKvHeads: fc.integer({ min: 1, max: 64 }),
      group: fc.integer({ min: 1, max: 8 }),
      headDim: fc.integer({ min: 1, max: 512 }),
      kvDtype: fc.constantFrom('f32' as const, 'f16' as const, 'q8_0' as const),
      blockSize: fc.integer({ min: 1, max: 256 }),
    })
    .map(({ group, ...rest }) => ({ ...rest, numHeads: rest.numKvHeads * group }));

  /** `count × size ≤ budget < (count + 1) × size`: `count` is the floor of `budget / size`. */
  function expectFloor(count: number, size: number, budget: number): void {
    expect(Number.isSafeInteger(count)).toBe(true);
    expect(count * size).toBeLessThanOrEqual(budget);
    expect(budget).toBeLessThan((count + 1) * size);
  }

  it('never goes negative and always adds up to the total', () => {
    fc.assert(
      fc.property(totalAvailableMb, modelParams, bitsPerWeight, overhead, (mb, params, bits, o) => {
        const budget = MemoryBudget.estimate(mb, params, bits, o);
        for (const bytes of [
          budget.totalSystemBytes,
          budget.availableBytes,
          budget.modelWeightBytes,
          budget.kvCacheBudget,
          budget.runtimeOverhead,
          budget.shortfallBytes,
        ]) {
          expect(Number.isSafeInteger(bytes) && bytes >= 0).toBe(true);
        }
        expect(budget.kvCacheBudget).toBeLessThanOrEqual(budget.availableBytes);
        const required = budget.modelWeightBytes + budget.runtimeOverhead;
        if (budget.fits) {
          expect(budget.shortfallBytes).toBe(0);
          expect(required + budget.availableBytes).toBe(budget.totalSystemBytes);
        } else {
          expect(budget.availableBytes).toBe(0);
          expect(required - budget.shortfallBytes).toBe(budget.totalSystemBytes);
        }
      }),
    );
  });

  it('gives the longest FP16 context that fits: maxContextLength is the floor', () => {
    fc.assert(
      fc.property(totalAvailableMb, modelParams, bitsPerWeight, shape, (mb, params, bits, s) => {
        const budget = MemoryBudget.estimate(mb, params, bits);
        const maxContextLength = budget.maxContextLength(s.numLayers, s.numHeads, s.headDim);
        const bytesPerToken = 2 * s.numLayers * s.numHeads * s.headDim * 2;
        expectFloor(maxContextLength, bytesPerToken, budget.kvCacheBudget);
      }),
    );
  });

  it('gives whole tokens, blocks and sequences that fit and no more for any model', () => {
    fc.assert(
      fc.property(
        totalAvailableMb,
        modelParams,
        bitsPerWeight,
        shape,
        fc.integer({ min: 1, max: 1 << 20 }),
        (mb, params, bits, s, contextLength) => {
          const budget = MemoryBudget.forModel(
            { ...s, params },
            {
              totalAvailableMb: mb,
              bitsPerWeight: bits,
              kvDtype: s.kvDtype,
              blockSize: s.blockSize,
            },
          );
          expect(budget.kvBytesPerToken).toBe(kvBytesPerToken(s, s.kvDtype));
          expectFloor(budget.maxTokens, budget.kvBytesPerToken, budget.kvCacheBudget);
          expectFloor(budget.numKvBlocks, budget.kvBlockBytes, budget.kvCacheBudget);
          expect(budget.numKvBlocks * budget.blockSize).toBeLessThanOrEqual(budget.maxTokens);
          const blocksPerSequence = Math.ceil(contextLength / budget.blockSize);
          const sequences = budget.maxConcurrentSequences(contextLength);
          expectFloor(sequences, blocksPerSequence, budget.numKvBlocks);
        },
      ),
    );
  });

  it('agrees with maxContextLength for an f16 model without GQA', () => {
    fc.assert(
      fc.property(totalAvailableMb, modelParams, bitsPerWeight, shape, (mb, params, bits, s) => {
        const config = { numLayers: s.numLayers, numHeads: s.numHeads, headDim: s.headDim, params };
        const budget = MemoryBudget.forModel(config, { totalAvailableMb: mb, bitsPerWeight: bits });
        expect(budget.maxTokens).toBe(budget.maxContextLength(s.numLayers, s.numHeads, s.headDim));
      }),
    );
  });
});
