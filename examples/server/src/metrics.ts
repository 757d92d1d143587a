import type { InferenceEngine } from '@x/engine';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds, from 1 ms to 60 s. */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * The server's Prometheus metrics (`GET /metrics`): request counts by endpoint and status, TTFT
 * and inter-token histograms as clients see them, tokens, and the engine's queue, KV and
 * preemption state read at each scrape.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'xinfer_requests_total',
    help: 'HTTP requests to the OpenAI endpoints, by endpoint and status code.',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: 'xinfer_time_to_first_token_seconds',
    help: 'Time from receiving a request to its first generated token.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly interToken = new Histogram({
    name: 'xinfer_inter_token_latency_seconds',
    help: 'Time between consecutive tokens of one choice.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: 'xinfer_prompt_tokens_total',
    help: 'Prompt tokens of finished requests.',
    registers: [this.registry],
  });
  readonly generationTokens = new Counter({
    name: 'xinfer_generation_tokens_total',
    help: 'Tokens generated for finished requests.',
    registers: [this.registry],
  });

  constructor(engine: InferenceEngine) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge(
      'xinfer_queue_depth',
      'Requests waiting to be admitted.',
      () => engine.metrics.numWaiting,
    );
    gauge('xinfer_running_requests', 'Requests being generated.', () => engine.metrics.numRunning);
    gauge(
      'xinfer_kv_cache_usage_ratio',
      'Share of KV blocks in use (0-1).',
      () => engine.metrics.kvUsage,
    );
    gauge('xinfer_kv_cache_free_blocks', 'Free KV blocks.', () => engine.metrics.numFreeBlocks);
    gauge('xinfer_kv_cache_blocks', 'KV blocks in the pool.', () => engine.metrics.numBlocks);
    gauge(
      'xinfer_prefix_cache_hit_ratio',
      'Prompt tokens found in the prefix cache over prompt tokens looked up.',
      () => engine.metrics.prefixCacheHitRate,
    );
    let seen = 0;
    new Counter({
      name: 'xinfer_preemptions_total',
      help: 'Sequences preempted to free KV blocks.',
      registers: [this.registry],
      collect() {
        const now = engine.metrics.preemptions;
        this.inc(now - seen);
        seen = now;
      },
    });
  }
}
