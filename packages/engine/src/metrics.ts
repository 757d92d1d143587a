/** Percentiles of a latency, in milliseconds, over the most recent samples. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  /** Samples the percentiles are taken over (the window holds the latest {@link LATENCY_WINDOW}). */
  count: number;
}

/** Samples kept per latency for percentiles. */
export const LATENCY_WINDOW = 4096;

/** The latest {@link LATENCY_WINDOW} samples of a latency, in a ring. */
export class LatencyWindow {
  private readonly samples = new Float64Array(LATENCY_WINDOW);
  private size = 0;
  private next = 0;
  /** The percentiles until the next sample: `engine.metrics` is read often (every gauge of a scrape). */
  private cached: LatencyPercentiles | undefined;

  add(ms: number): void {
    this.cached = undefined;
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_WINDOW;
    if (this.size < LATENCY_WINDOW) this.size++;
  }

  /** Nearest-rank percentiles; all 0 with no samples. */
  percentiles(): LatencyPercentiles {
    if (this.cached) return { ...this.cached };
    if (this.size === 0) return { p50: 0, p90: 0, p99: 0, count: 0 };
    const sorted = this.samples.slice(0, this.size).sort();
    const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * this.size) - 1)] as number;
    this.cached = { p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), count: this.size };
    return this.cached;
  }
}

/**
 * What the engine has done and what it holds now. The first four fields are the source's
 * `EngineMetrics`; the rest are what a server exports.
 */
export interface EngineMetrics {
  /** Requests that finished (stop or length). */
  requestsProcessed: number;
  /** Tokens sampled, over all requests (stop tokens included). */
  tokensGenerated: number;
  /** Mean time from submission to the last token of finished requests, in ms. */
  avgLatencyMs: number;
  /** `tokensGenerated` per second of time spent in steps. */
  throughputTokPerSec: number;
  /** Time from submission to the first token. */
  ttftMs: LatencyPercentiles;
  /** Time between consecutive tokens of one request. */
  interTokenLatencyMs: LatencyPercentiles;
  /** Prompt tokens of requests taken. */
  promptTokens: number;
  requestsAborted: number;
  requestsFailed: number;
  requestsRejected: number;
  /** Requests waiting to be admitted (the queue depth). */
  numWaiting: number;
  numRunning: number;
  numSwapped: number;
  numBlocks: number;
  numFreeBlocks: number;
  /** Share of KV blocks in use, 0–1. */
  kvUsage: number;
  /** Prompt tokens found in the prefix cache over prompt tokens looked up, 0–1. */
  prefixCacheHitRate: number;
  /** Sequences preempted (recomputed or swapped out) to make room. */
  preemptions: number;
  /** Steps run. */
  steps: number;
}
