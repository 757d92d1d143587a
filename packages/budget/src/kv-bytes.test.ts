import { describe, expect, it } from 'vitest';
import { type KvDtype, kvBytesPerToken } from './kv-bytes.js';

/** Llama-3-8B: 32 layers, 32 query heads, 8 KV heads (GQA), head dim 128. */
const LLAMA_3_8B = { numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128 };

describe('kvBytesPerToken', () => {
  it('gives Llama-3-8B 131072 bytes per token at f16 with its 8 KV heads', () => {
    // 2 (K+V) × 32 layers × 8 KV heads × 128 dims × 2 bytes
    expect(kvBytesPerToken(LLAMA_3_8B, 'f16')).toBe(131_072);
  });

  it('gives the same shape 524288 bytes per token without GQA (as many KV heads as heads)', () => {
    // 2 × 32 × 32 × 128 × 2
    expect(kvBytesPerToken({ ...LLAMA_3_8B, numKvHeads: 32 })).toBe(524_288);
    expect(kvBytesPerToken({ numLayers: 32, numHeads: 32, headDim: 128 })).toBe(524_288);
  });

  it('defaults to f16', () => {
    expect(kvBytesPerToken(LLAMA_3_8B)).toBe(kvBytesPerToken(LLAMA_3_8B, 'f16'));
  });

  it('doubles for f32 and stores q8_0 as 34 bytes per 32 elements', () => {
    // f32: 2 × 32 × 8 × 128 × 4
    expect(kvBytesPerToken(LLAMA_3_8B, 'f32')).toBe(262_144);
    // q8_0: one row is 8 × 128 = 1024 elements = 32 blocks × 34 bytes = 1088; × 2 × 32 layers
    expect(kvBytesPerToken(LLAMA_3_8B, 'q8_0')).toBe(69_632);
  });

  it('rounds a q8_0 row that is not a multiple of 32 elements up to whole blocks', () => {
    // 1 KV head × 40 dims = 40 elements → 2 blocks = 68 bytes; × 2 (K+V) × 1 layer
    expect(kvBytesPerToken({ numLayers: 1, numHeads: 4, numKvHeads: 1, headDim: 40 }, 'q8_0')).toBe(
      136,
    );
  });

  it('sizes multi-query attention (one KV head) by that one head', () => {
    // 2 × 2 layers × 1 × 64 × 2
    expect(kvBytesPerToken({ numLayers: 2, numHeads: 16, numKvHeads: 1, headDim: 64 })).toBe(512);
  });

  it.each([
    ['numLayers', { ...LLAMA_3_8B, numLayers: 0 }],
    ['numLayers', { ...LLAMA_3_8B, numLayers: 2.5 }],
    ['numHeads', { ...LLAMA_3_8B, numHeads: -32 }],
    ['numHeads', { ...LLAMA_3_8B, numHeads: Number.NaN }],
    ['numKvHeads', { ...LLAMA_3_8B, numKvHeads: 0 }],
    ['numKvHeads', { ...LLAMA_3_8B, numKvHeads: 3 }],
    ['numKvHeads', { ...LLAMA_3_8B, numKvHeads: 64 }],
    ['headDim', { ...LLAMA_3_8B, headDim: Number.POSITIVE_INFINITY }],
    ['numLayers × numKvHeads × headDim', { ...LLAMA_3_8B, numLayers: 2 ** 50 }],
  ])('throws a RangeError naming %s when it is bad', (name, shape) => {
    expect(() => kvBytesPerToken(shape)).toThrow(RangeError);
    expect(() => kvBytesPerToken(shape)).toThrow(name);
  });

  it('throws a RangeError naming kvDtype for an unknown cache type', () => {
    const call = () => kvBytesPerToken(LLAMA_3_8B, 'q4_0' as KvDtype);
    expect(call).toThrow(RangeError);
    expect(call).toThrow('kvDtype');
  });
});
