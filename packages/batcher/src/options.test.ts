import { describe, expect, it } from 'vitest';
import { BatcherError, BatcherOptionError } from './errors.js';
import type { TokenBatcherOptions } from './options.js';
import { TokenBatcher } from './token-batcher.js';

const echo = (records: number[]) => records;

function thrown(options: TokenBatcherOptions<number, number>): BatcherOptionError {
  try {
    new TokenBatcher(options);
  } catch (error) {
    if (error instanceof BatcherOptionError) return error;
    throw error;
  }
  throw new Error('the constructor did not throw');
}

describe('TokenBatcher options', () => {
  it('throws BATCHER_INVALID_OPTION when neither processFn nor inferenceFn is given', () => {
    const error = thrown({});
    expect(error).toBeInstanceOf(BatcherError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('BATCHER_INVALID_OPTION');
    expect(error.option).toBe('processFn');
    expect(error.message).toMatch(/processFn.*inferenceFn/);
  });

  it.each([
    ['processFn', 'inferenceFn', { processFn: echo, inferenceFn: echo }],
    [
      'costEstimator',
      'tokenEstimator',
      { processFn: echo, costEstimator: () => 1, tokenEstimator: () => 1 },
    ],
    [
      'targetBatchCost',
      'targetBatchTokens',
      { processFn: echo, targetBatchCost: 10, targetBatchTokens: 10 },
    ],
    [
      'defaultCost',
      'defaultTokenEstimate',
      { processFn: echo, defaultCost: 1, defaultTokenEstimate: 1 },
    ],
  ] as const)(
    'rejects both %s and its alias %s with a message naming both',
    (name, alias, options) => {
      const error = thrown(options);
      expect(error.code).toBe('BATCHER_INVALID_OPTION');
      expect(error.option).toBe(name);
      expect(error.message).toContain(name);
      expect(error.message).toContain(alias);
    },
  );

  it.each([
    ['maxBatchSize', { maxBatchSize: 0 }],
    ['maxBatchSize', { maxBatchSize: 2.5 }],
    ['maxBatchSize', { maxBatchSize: Number.NaN }],
    ['minBatchSize', { minBatchSize: 0 }],
    ['minBatchSize', { minBatchSize: -1 }],
    ['minBatchSize', { minBatchSize: 8, maxBatchSize: 4 }],
    ['minBatchSize', { minBatchSize: 8, maxQueueSize: 4 }],
    ['maxQueueSize', { maxQueueSize: 0 }],
    ['maxQueueSize', { maxQueueSize: 1.5 }],
    ['prefetchBatches', { prefetchBatches: -1 }],
    ['prefetchBatches', { prefetchBatches: 0.5 }],
    ['batchTimeoutMs', { batchTimeoutMs: -1 }],
    ['batchTimeoutMs', { batchTimeoutMs: Number.POSITIVE_INFINITY }],
    ['batchTimeoutMs', { batchTimeoutMs: 2 ** 31 }],
    ['targetBatchCost', { targetBatchCost: 0 }],
    ['targetBatchCost', { targetBatchTokens: -10 }],
    ['targetBatchCost', { targetBatchCost: Number.NaN }],
    ['defaultCost', { defaultCost: -1 }],
    ['defaultCost', { defaultTokenEstimate: Number.POSITIVE_INFINITY }],
    ['onFull', { onFull: 'drop' }],
    ['costEstimator', { costEstimator: 3 }],
  ])('rejects a bad %s with a message naming it (%o)', (name, bad) => {
    const error = thrown({ processFn: echo, ...(bad as object) });
    expect(error.code).toBe('BATCHER_INVALID_OPTION');
    expect(error.option).toBe(name);
    expect(error.message).toContain(name);
  });

  it('rejects a processFn that is not a function', () => {
    const error = thrown({ processFn: 'echo' as unknown as typeof echo });
    expect(error.option).toBe('processFn');
    expect(error.message).toContain('function');
  });

  it('accepts zero prefetch, zero timeout and a zero default cost', () => {
    expect(
      () =>
        new TokenBatcher({
          processFn: echo,
          prefetchBatches: 0,
          batchTimeoutMs: 0,
          defaultCost: 0,
        }),
    ).not.toThrow();
  });
});
