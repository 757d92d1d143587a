import type { LoadTestResult, RequestDetail } from './load-test-result.js';
import { meanAndStddev, percentileOfSorted } from './percentile.js';
import type { RequestTiming } from './request-timing.js';

/** The run a set of request timings came from. */
export interface LoadTestRun {
  runtimeName: string;
  concurrency: number;
  /** Wall time of the timed run, in seconds. */
  elapsedSecs: number;
  /** When the run started. Default: now. */
  startedAt?: Date;
  /** Time to first token of the first request of a cold runtime, when measured (ms). */
  coldStartMs?: number | undefined;
  /** Service levels a request must meet to count toward goodput. */
  slo?: { ttftMs?: number; tpotMs?: number };
  /** ITL gap counted as a spike; default 5 × the ITL p50. */
  spikeThresholdMs?: number;
}

/** Default service levels of goodput: first token within 1 s, then at most 100 ms per token. */
export const DEFAULT_SLO = { ttftMs: 1000, tpotMs: 100 } as const;

/** Spikes listed in `tail_analysis.jitter.spikes` (all are counted in `spike_count`). */
const MAX_LISTED_SPIKES = 100;

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Sorted copy with its moments, and percentiles that are 0 for an empty sample. */
class Sample {
  readonly sorted: Float64Array;
  readonly mean: number;
  /** Population standard deviation. */
  readonly stddev: number;
  constructor(values: readonly number[]) {
    this.sorted = Float64Array.from(values).sort();
    ({ mean: this.mean, stddev: this.stddev } = meanAndStddev(this.sorted));
  }
  get size(): number {
    return this.sorted.length;
  }
  p(p: number): number {
    return this.size === 0 ? 0 : percentileOfSorted(this.sorted, p);
  }
  get min(): number {
    return this.size === 0 ? 0 : this.sorted[0]!;
  }
  get max(): number {
    return this.size === 0 ? 0 : this.sorted[this.size - 1]!;
  }
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

/** Mean gap between consecutive chunk times (a request's mean ITL); 0 with fewer than two. */
function meanGap(times: readonly number[]): number {
  return times.length > 1 ? (times[times.length - 1]! - times[0]!) / (times.length - 1) : 0;
}

/**
 * Turns the raw timings of a streamed load test into a `LoadTestResult`. Definitions:
 *
 * - Percentiles interpolate linearly between closest ranks (Hyndman & Fan type 7, NumPy's
 *   default); over an empty sample they are 0, so a run where every request failed still gives a
 *   valid record (with `error_rate` 1).
 * - A request succeeded when its status is `ok` and it streamed at least one content chunk. Only
 *   successful requests enter the latency statistics.
 * - TTFT: request sent → first content chunk. ITL: the gaps between consecutive content chunks,
 *   pooled over all requests (`itl_p50_ms`); a request's `itl_ms` is the mean of its gaps.
 *   `sse_batch_ratio` = content chunks / completion tokens (1 when every chunk carries one token;
 *   below 1 when the server batches tokens into chunks, and ITL is then per chunk).
 * - TPOT of a request: (latency − TTFT) / (completion tokens − 1), for requests of 2+ tokens.
 * - `decode_tok_per_sec`: the median over requests of (completion tokens − 1) / (last chunk −
 *   first chunk), the per-stream decode rate. `tokens_per_sec`: all completion tokens / elapsed
 *   time (aggregate). `prefill_tok_per_sec`: all prompt tokens / the sum of TTFTs.
 * - `goodput_pct`: the share of all requests that succeeded with TTFT ≤ `slo.ttftMs` and TPOT ≤
 *   `slo.tpotMs` ({@link DEFAULT_SLO}). `truncated_pct`: successful requests that stopped on
 *   `length`.
 * - Tail: p99.9 and p99.99 of ITL, TTFT and latency; tail ratios are p99.9 / p50.
 * - Jitter: ITL coefficient of variation (stddev / mean), IQR (p75 − p25), and spikes: gaps above
 *   `spikeThresholdMs` (default 5 × the ITL p50).
 * - Drift: least-squares slopes, in ms per minute of the run, of each request's mean ITL and its
 *   TTFT against its start time. Degradation is flagged when the ITL slope exceeds 10 % of the ITL
 *   p50 per minute over a run of at least 10 s (shorter runs cannot show a trend).
 */
export function buildLoadTestResult(
  timings: readonly RequestTiming[],
  run: LoadTestRun,
): LoadTestResult {
  const ok = timings.filter((t) => t.status === 'ok' && t.chunkTimesMs.length > 0);
  const failed = timings.length - ok.length;
  const elapsed = run.elapsedSecs;
  const slo = { ...DEFAULT_SLO, ...run.slo };

  const itlGaps: number[] = [];
  const ttfts: number[] = [];
  const latencies: number[] = [];
  const tpots: number[] = [];
  const decodeRates: number[] = [];
  const completions: number[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  let chunks = 0;
  let truncated = 0;
  let good = 0;
  let ttftSumMs = 0;

  for (const t of ok) {
    const times = t.chunkTimesMs;
    const ttft = times[0]!;
    for (let i = 1; i < times.length; i++) itlGaps.push(times[i]! - times[i - 1]!);
    ttfts.push(ttft);
    ttftSumMs += ttft;
    latencies.push(t.latencyMs);
    completions.push(t.completionTokens);
    promptTokens += t.promptTokens;
    completionTokens += t.completionTokens;
    chunks += times.length;
    if (t.finishReason === 'length') truncated++;
    const decodeMs = times[times.length - 1]! - ttft;
    if (t.completionTokens > 1 && decodeMs > 0) {
      decodeRates.push((t.completionTokens - 1) / (decodeMs / 1000));
    }
    const tpot = t.completionTokens > 1 ? (t.latencyMs - ttft) / (t.completionTokens - 1) : 0;
    if (t.completionTokens > 1) tpots.push(tpot);
    if (ttft <= slo.ttftMs && tpot <= slo.tpotMs) good++;
  }

  const itl = new Sample(itlGaps);
  const ttft = new Sample(ttfts);
  const latency = new Sample(latencies);
  const tpot = new Sample(tpots);
  const decode = new Sample(decodeRates);
  const outputs = new Sample(completions);
  const itlP50 = itl.p(50);

  const details: RequestDetail[] = timings.map((t) => {
    const times = t.chunkTimesMs;
    return {
      completion_tokens: t.completionTokens,
      itl_ms: meanGap(times),
      prompt_tokens: t.promptTokens,
      ttft_ms: times.length > 0 ? times[0]! : null,
      latency_ms: t.latencyMs,
      start_ms: t.startMs,
      status: t.status === 'ok' && times.length === 0 ? 'error' : t.status,
      error: t.error ?? (t.status === 'ok' && times.length === 0 ? 'no content streamed' : null),
    };
  });

  const spikeThreshold = run.spikeThresholdMs ?? 5 * itlP50;
  const spikes: Array<{ request_index: number; token_index: number; itl_ms: number }> = [];
  let spikeCount = 0;
  timings.forEach((t, requestIndex) => {
    if (t.status !== 'ok') return;
    for (let i = 1; i < t.chunkTimesMs.length; i++) {
      const gap = t.chunkTimesMs[i]! - t.chunkTimesMs[i - 1]!;
      if (spikeThreshold > 0 && gap > spikeThreshold) {
        spikeCount++;
        if (spikes.length < MAX_LISTED_SPIKES) {
          spikes.push({ request_index: requestIndex, token_index: i, itl_ms: gap });
        }
      }
    }
  });

  const startsMin = ok.map((t) => t.startMs / 60_000);
  const multiChunk = ok.filter((t) => t.chunkTimesMs.length > 1);
  const itlSlope = slope(
    multiChunk.map((t) => t.startMs / 60_000),
    multiChunk.map((t) => meanGap(t.chunkTimesMs)),
  );
  const ttftSlope = slope(startsMin, ttfts);

  return {
    total_requests: timings.length,
    successful: ok.length,
    failed,
    throughput_rps: ratio(ok.length, elapsed),
    latency_p50_ms: latency.p(50),
    latency_p95_ms: latency.p(95),
    latency_p99_ms: latency.p(99),
    ttft_p50_ms: ttft.p(50),
    tokens_per_sec: ratio(completionTokens, elapsed),
    avg_tok_per_req: ratio(completionTokens, ok.length),
    itl_p50_ms: itlP50,
    decode_tok_per_sec: decode.p(50),
    prefill_tok_per_sec: ratio(promptTokens, ttftSumMs / 1000),
    timestamp: (run.startedAt ?? new Date()).toISOString(),
    runtime_name: run.runtimeName,
    elapsed_secs: elapsed,
    concurrency: run.concurrency,
    ttft_p90_ms: ttft.p(90),
    ttft_p95_ms: ttft.p(95),
    ttft_p99_ms: ttft.p(99),
    tpot_p50_ms: tpot.p(50),
    tpot_p90_ms: tpot.p(90),
    tpot_p95_ms: tpot.p(95),
    tpot_p99_ms: tpot.p(99),
    latency_min_ms: latency.min,
    latency_max_ms: latency.max,
    latency_stddev_ms: latency.stddev,
    error_rate: ratio(failed, timings.length),
    prompt_tokens_total: promptTokens,
    completion_tokens_total: completionTokens,
    truncated_pct: 100 * ratio(truncated, ok.length),
    sse_batch_ratio: ratio(chunks, completionTokens),
    goodput_pct: 100 * ratio(good, timings.length),
    output_tokens_dist: {
      min: outputs.min,
      max: outputs.max,
      mean: outputs.mean,
      stddev: outputs.stddev,
      p50: outputs.p(50),
      p90: outputs.p(90),
      p99: outputs.p(99),
    },
    decode_us_per_layer: null,
    num_layers: null,
    brick_trace_summary: null,
    request_details: details,
    quality: null,
    tail_analysis: {
      itl_p999_ms: itl.p(99.9),
      itl_p9999_ms: itl.p(99.99),
      ttft_p999_ms: ttft.p(99.9),
      ttft_p9999_ms: ttft.p(99.99),
      latency_p999_ms: latency.p(99.9),
      latency_p9999_ms: latency.p(99.99),
      tail_ratio_itl: ratio(itl.p(99.9), itlP50),
      tail_ratio_ttft: ratio(ttft.p(99.9), ttft.p(50)),
      tail_ratio_latency: ratio(latency.p(99.9), latency.p(50)),
      jitter: {
        itl_cv: ratio(itl.stddev, itl.mean),
        itl_iqr_ms: itl.p(75) - itl.p(25),
        spike_count: spikeCount,
        spike_threshold_ms: spikeThreshold,
        spikes,
      },
      drift: {
        itl_slope_ms_per_min: itlSlope,
        ttft_slope_ms_per_min: ttftSlope,
        degradation_detected: elapsed >= 10 && itlP50 > 0 && itlSlope > 0.1 * itlP50,
      },
    },
    gpu_telemetry: null,
    dataset_stats: null,
    cold_start_ms: run.coldStartMs ?? null,
  };
}
