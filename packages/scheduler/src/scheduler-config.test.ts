import { describe, expect, it } from 'vitest';
import { SchedulerConfigError } from './errors.js';
import { DEFAULT_SCHEDULER_CONFIG, resolveSchedulerConfig } from './scheduler-config.js';

describe('resolveSchedulerConfig', () => {
  it('uses the source defaults: batch 32, 256 sequences, 2048 context, 4096 tokens, 0.9', () => {
    expect(resolveSchedulerConfig()).toEqual({
      maxBatchSize: 32,
      maxNumSeqs: 256,
      maxModelLen: 2048,
      maxTotalTokens: 4096,
      memoryThreshold: 0.9,
      policy: 'fcfs',
    });
  });

  it('keeps given fields and fills the rest', () => {
    const config = resolveSchedulerConfig({ maxModelLen: 8192, policy: 'priority' });
    expect(config.maxModelLen).toBe(8192);
    expect(config.policy).toBe('priority');
    expect(config.maxTotalTokens).toBe(DEFAULT_SCHEDULER_CONFIG.maxTotalTokens);
  });

  it.each([
    ['maxBatchSize', { maxBatchSize: 0 }],
    ['maxNumSeqs', { maxNumSeqs: 2.5 }],
    ['maxTotalTokens', { maxTotalTokens: Number.NaN }],
    ['memoryThreshold', { memoryThreshold: 1.5 }],
    ['memoryThreshold', { memoryThreshold: 0 }],
    ['maxBatchSize', { maxBatchSize: 64, maxNumSeqs: 8 }],
  ] as const)('rejects a bad %s with an error naming the field', (field, partial) => {
    const call = () => resolveSchedulerConfig(partial);
    expect(call).toThrow(SchedulerConfigError);
    expect(call).toThrow(expect.objectContaining({ field, code: 'SCHEDULER_INVALID_CONFIG' }));
  });
});
