import { describe, expect, it } from 'vitest';
import { EngineConfigError, resolveEngineConfig } from './engine-config.js';

describe('resolveEngineConfig', () => {
  it('uses the source defaults', () => {
    expect(resolveEngineConfig()).toEqual({
      blockSize: 16,
      maxNumBlocks: 1024,
      maxBatchSize: 32,
      maxNumSeqs: 256,
      maxModelLen: 2048,
      maxTotalTokens: 4096,
      memoryThreshold: 0.9,
      policy: 'fcfs',
    });
  });

  it('reports a bad scheduler field as an engine error naming that field', () => {
    const call = () => resolveEngineConfig({ maxNumSeqs: -1 });
    expect(call).toThrow(EngineConfigError);
    expect(call).toThrow(expect.objectContaining({ field: 'maxNumSeqs' }));
    expect(call).toThrow('maxNumSeqs: must be a positive integer, got -1');
  });

  it('rejects a block pool too small for one sequence of maxModelLen', () => {
    const call = () => resolveEngineConfig({ blockSize: 16, maxNumBlocks: 8, maxModelLen: 256 });
    expect(call).toThrow(
      'maxNumBlocks: 8 blocks of 16 tokens hold 128 tokens, less than one sequence of maxModelLen 256',
    );
  });

  it('rejects a block size that is not a positive integer', () => {
    expect(() => resolveEngineConfig({ blockSize: 0 })).toThrow(
      expect.objectContaining({ field: 'blockSize', code: 'ENGINE_INVALID_CONFIG' }),
    );
  });
});
