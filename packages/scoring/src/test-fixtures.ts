import type { LoadTestResult } from './load-test-result.js';

/**
 * The source's `make_test_result` test helper, field for field: a result whose latencies derive
 * from a decode rate, a TTFT and an ITL. Test-only; not exported from the package.
 */
export function makeTestResult(
  name: string,
  decode: number,
  ttft: number,
  itl: number,
  ttftP99: number,
  errorRate: number,
  concurrency: number,
): LoadTestResult {
  return {
    total_requests: 100,
    successful: Math.trunc(100 * (1 - errorRate)),
    failed: Math.trunc(100 * errorRate),
    throughput_rps: decode / 32,
    latency_p50_ms: ttft + itl * 31,
    latency_p95_ms: ttft + itl * 31 * 1.1,
    latency_p99_ms: ttft + itl * 31 * 1.2,
    ttft_p50_ms: ttft,
    tokens_per_sec: decode * concurrency,
    avg_tok_per_req: 32,
    itl_p50_ms: itl,
    decode_tok_per_sec: decode,
    prefill_tok_per_sec: (1000 / ttft) * 23,
    timestamp: '2026-03-11T00:00:00Z',
    runtime_name: name,
    elapsed_secs: 60,
    concurrency,
    ttft_p90_ms: ttft * 1.1,
    ttft_p95_ms: ttft * 1.2,
    ttft_p99_ms: ttftP99,
    tpot_p50_ms: itl,
    tpot_p90_ms: itl * 1.1,
    tpot_p95_ms: itl * 1.2,
    tpot_p99_ms: itl * 1.3,
    latency_min_ms: ttft + itl * 30,
    latency_max_ms: ttft + itl * 35,
    latency_stddev_ms: itl * 0.5,
    error_rate: errorRate,
    prompt_tokens_total: 2300,
    completion_tokens_total: 3200,
    truncated_pct: 0,
    sse_batch_ratio: 1,
    goodput_pct: 100,
    output_tokens_dist: null,
    decode_us_per_layer: null,
    num_layers: 28,
    brick_trace_summary: null,
    request_details: [],
    quality: null,
    tail_analysis: null,
    gpu_telemetry: null,
    dataset_stats: null,
    cold_start_ms: null,
  };
}

/** The source's `make_test_result_with_layers`. */
export function makeTestResultWithLayers(
  name: string,
  decode: number,
  ttft: number,
  usPerLayer: number,
  promptTokens: number,
): LoadTestResult {
  const result = makeTestResult(name, decode, ttft, 7, 20, 0, 1);
  result.decode_us_per_layer = usPerLayer;
  result.prompt_tokens_total = promptTokens;
  return result;
}
