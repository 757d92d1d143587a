import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GENERATION_PARAMS,
  type GenerationParams,
  GenerationParamsError,
  resolveGenerationParams,
} from './generation-params.js';

describe('resolveGenerationParams', () => {
  it('uses the source defaults: 100 tokens, temperature 1.0, top-p 0.9', () => {
    const params = resolveGenerationParams();
    expect(params).toMatchObject({ maxTokens: 100, temperature: 1.0, topP: 0.9 });
    expect(params).toEqual(DEFAULT_GENERATION_PARAMS);
  });

  it('keeps given values, including the range ends', () => {
    const params = resolveGenerationParams({ temperature: 0, topP: 1, maxTokens: 1, seed: 42 });
    expect(params).toMatchObject({ temperature: 0, topP: 1, maxTokens: 1, seed: 42 });
  });

  it.each<[keyof GenerationParams, Partial<GenerationParams>]>([
    ['maxTokens', { maxTokens: 0 }],
    ['maxTokens', { maxTokens: 2.5 }],
    ['temperature', { temperature: 2.01 }],
    ['temperature', { temperature: -0.1 }],
    ['topP', { topP: 0 }],
    ['topP', { topP: 1.1 }],
    ['minP', { minP: Number.NaN }],
    ['presencePenalty', { presencePenalty: 3 }],
    ['repetitionPenalty', { repetitionPenalty: 0 }],
    ['logprobs', { logprobs: 21 }],
    ['seed', { seed: 1.5 }],
    ['stop', { stop: [''] }],
    ['stopTokenIds', { stopTokenIds: [-1] }],
    ['logitBias', { logitBias: new Map([[1, 100.5]]) }],
    ['logitBias', { logitBias: new Map([[-1, 1]]) }],
    ['logitBias', { logitBias: new Map(Array.from({ length: 301 }, (_, i) => [i, 1])) }],
  ])('rejects a bad %s with an error naming the field', (field, partial) => {
    const call = () => resolveGenerationParams(partial);
    expect(call).toThrow(GenerationParamsError);
    expect(call).toThrow(expect.objectContaining({ field, code: 'INVALID_GENERATION_PARAMS' }));
    expect(call).toThrow(new RegExp(`^${field}: `));
  });
});
