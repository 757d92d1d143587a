import { assertNonNegativeFinite, assertPositiveFinite, assertPositiveInteger } from './assert.js';

/** Microseconds in one second: the factor between a per-token latency and a throughput. */
const US_PER_SEC = 1_000_000;

/**
 * A performance budget in token terms: a latency per token and the throughput it implies.
 *
 * Budgets are immutable values; `withBatchSize` returns a new budget.
 *
 * @example
 * ```ts
 * const budget = TokenBudget.fromLatency(50); // 50 µs per token
 * budget.tokensPerSec; // 20000
 * budget.isMet(40); // true
 * budget.utilization(75); // 1.5 (over budget)
 * ```
 */
export class TokenBudget {
  /**
   * The default budget: 50 µs per token (20 000 tok/s), batch size 1. It is the source's example
   * figure and a realistic per-token target for batched decode on one GPU.
   */
  static readonly DEFAULT_US_PER_TOKEN = 50;

  /** Latency budget per token, in microseconds. */
  readonly usPerToken: number;
  /** Throughput target, in tokens per second (`1e6 / usPerToken`). */
  readonly tokensPerSec: number;
  /** Batch size over which fixed per-step costs are amortized. */
  readonly batchSize: number;

  /**
   * @param usPerToken latency per token in µs (default {@link TokenBudget.DEFAULT_US_PER_TOKEN})
   * @param batchSize positive integer batch size (default 1)
   * @throws RangeError naming the argument when it is not finite or not positive, or when
   *   `batchSize` is not an integer
   */
  constructor(usPerToken: number = TokenBudget.DEFAULT_US_PER_TOKEN, batchSize = 1) {
    assertPositiveFinite('usPerToken', usPerToken);
    assertPositiveInteger('batchSize', batchSize);
    this.usPerToken = usPerToken;
    this.tokensPerSec = US_PER_SEC / usPerToken;
    this.batchSize = batchSize;
    Object.freeze(this);
  }

  /**
   * A budget from a latency target: `fromLatency(50)` is 20 000 tok/s.
   * @param usPerToken latency per token in µs
   * @throws RangeError when `usPerToken` is not a finite number greater than 0
   */
  static fromLatency(usPerToken: number): TokenBudget {
    return new TokenBudget(usPerToken);
  }

  /**
   * A budget from a throughput target: `fromThroughput(20_000)` is 50 µs per token.
   * @param tokensPerSec throughput in tokens per second
   * @throws RangeError when `tokensPerSec` is not a finite number greater than 0
   */
  static fromThroughput(tokensPerSec: number): TokenBudget {
    assertPositiveFinite('tokensPerSec', tokensPerSec);
    return new TokenBudget(US_PER_SEC / tokensPerSec);
  }

  /**
   * A copy of this budget with another batch size.
   * @throws RangeError when `batchSize` is not an integer of at least 1
   */
  withBatchSize(batchSize: number): TokenBudget {
    return new TokenBudget(this.usPerToken, batchSize);
  }

  /**
   * Whether a measured latency per token (µs) is within the budget (at or under it).
   * @throws RangeError when `actualUsPerToken` is negative or not finite
   */
  isMet(actualUsPerToken: number): boolean {
    return this.utilization(actualUsPerToken) <= 1;
  }

  /**
   * The share of the budget a measured latency uses: 0 unused, 1 exactly at budget, above 1 over.
   * @throws RangeError when `actualUsPerToken` is negative or not finite
   */
  utilization(actualUsPerToken: number): number {
    assertNonNegativeFinite('actualUsPerToken', actualUsPerToken);
    return actualUsPerToken / this.usPerToken;
  }
}
