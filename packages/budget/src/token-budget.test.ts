import { describe, expect, it } from 'vitest';
import { TokenBudget } from './token-budget.js';

describe('TokenBudget', () => {
  it('turns 50 µs per token into 20 000 tokens per second', () => {
    const budget = TokenBudget.fromLatency(50);
    expect(budget.usPerToken).toBe(50);
    expect(budget.tokensPerSec).toBe(20_000);
    expect(budget.batchSize).toBe(1);
  });

  it('turns 20 000 tokens per second into 50 µs per token', () => {
    expect(TokenBudget.fromThroughput(20_000).usPerToken).toBe(50);
  });

  it('defaults to 50 µs per token and batch size 1', () => {
    const budget = new TokenBudget();
    expect(budget.usPerToken).toBe(TokenBudget.DEFAULT_US_PER_TOKEN);
    expect(budget.batchSize).toBe(1);
  });

  it('returns a new budget from withBatchSize and leaves the original alone', () => {
    const base = TokenBudget.fromLatency(100);
    const batched = base.withBatchSize(8);
    expect(batched.batchSize).toBe(8);
    expect(batched.usPerToken).toBe(100);
    expect(base.batchSize).toBe(1);
    expect(Object.isFrozen(batched)).toBe(true);
  });

  it('reports utilization as the share of the budget used', () => {
    const budget = TokenBudget.fromLatency(50);
    expect(budget.utilization(0)).toBe(0);
    expect(budget.utilization(50)).toBe(1);
    expect(budget.utilization(75)).toBe(1.5);
    expect(budget.isMet(50)).toBe(true);
    expect(budget.isMet(50.01)).toBe(false);
  });

  it.each([
    ['fromLatency', 'usPerToken', () => TokenBudget.fromLatency(0)],
    ['fromLatency', 'usPerToken', () => TokenBudget.fromLatency(-1)],
    ['fromLatency', 'usPerToken', () => TokenBudget.fromLatency(Number.NaN)],
    ['fromThroughput', 'tokensPerSec', () => TokenBudget.fromThroughput(Number.POSITIVE_INFINITY)],
    ['withBatchSize', 'batchSize', () => TokenBudget.fromLatency(1).withBatchSize(0)],
    ['withBatchSize', 'batchSize', () => TokenBudget.fromLatency(1).withBatchSize(1.5)],
    ['utilization', 'actualUsPerToken', () => TokenBudget.fromLatency(1).utilization(-2)],
  ] as const)('%s rejects a bad value with a RangeError naming %s', (_method, argument, call) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(argument);
  });
});
