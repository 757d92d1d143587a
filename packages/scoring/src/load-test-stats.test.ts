import { describe, expect, it } from 'vitest';
import { parseLoadTestResult } from './load-test-result.js';
import { buildLoadTestResult } from './load-test-stats.js';
import type { RequestTiming } from './request-timing.js';

function ok(
  startMs: number,
  chunkTimesMs: number[],
  extra: Partial<RequestTiming> = {},
): RequestTiming {
  return {
    startMs,
    chunkTimesMs,
    latencyMs: chunkTimesMs.at(-1)! + 5,
    promptTokens: 10,
    completionTokens: chunkTimesMs.length,
    status: 'ok',
    finishReason: 'stop',
    ...extra,
  };
}

const run = { runtimeName: 'fake', concurrency: 2, elapsedSecs: 2, startedAt: new Date(0) };

describe('buildLoadTestResult', () => {
  // Three requests streaming a token every 20 ms after a first token at 10/30/50 ms, and one error.
  const timings: RequestTiming[] = [
    ok(0, [10, 30, 50, 70]),
    ok(100, [30, 50, 70, 90]),
    ok(200, [50, 70, 90, 110], { finishReason: 'length' }),
    {
      startMs: 300,
      chunkTimesMs: [],
      latencyMs: 3,
      promptTokens: 0,
      completionTokens: 0,
      status: 'error',
      error: 'HTTP 500',
    },
  ];
  const result = buildLoadTestResult(timings, run);

  it('counts requests, errors, tokens and rates', () => {
    expect(result).toMatchObject({
      total_requests: 4,
      successful: 3,
      failed: 1,
      error_rate: 0.25,
      prompt_tokens_total: 30,
      completion_tokens_total: 12,
      tokens_per_sec: 6, // 12 tokens / 2 s
      throughput_rps: 1.5,
      avg_tok_per_req: 4,
      sse_batch_ratio: 1,
    });
    expect(result.truncated_pct).toBeCloseTo(100 / 3, 10);
  });

  it('measures TTFT, ITL, TPOT and decode rate by their definitions', () => {
    expect(result.ttft_p50_ms).toBe(30);
    expect(result.ttft_p99_ms).toBeCloseTo(49.6, 10); // 30 + 0.98 × 20
    expect(result.itl_p50_ms).toBe(20);
    // TPOT = (latency − TTFT) / (tokens − 1) = (75 − 10) / 3 for every request.
    expect(result.tpot_p50_ms).toBeCloseTo(65 / 3, 10);
    // decode = (tokens − 1) / (last − first chunk) = 3 / 0.06 s.
    expect(result.decode_tok_per_sec).toBeCloseTo(50, 10);
    // prefill = 30 prompt tokens / (10 + 30 + 50 ms).
    expect(result.prefill_tok_per_sec).toBeCloseTo(30 / 0.09, 10);
    expect(result.latency_p50_ms).toBe(95);
    expect(result.goodput_pct).toBe(75);
  });

  it('records each request, failed ones too', () => {
    expect(result.request_details).toHaveLength(4);
    expect(result.request_details[0]).toMatchObject({
      completion_tokens: 4,
      itl_ms: 20,
      ttft_ms: 10,
      start_ms: 0,
      status: 'ok',
    });
    expect(result.request_details[3]).toMatchObject({
      status: 'error',
      error: 'HTTP 500',
      ttft_ms: null,
    });
  });

  it('analyses the tail: spikes over 5 × ITL p50, CV, IQR, ratios and drift', () => {
    const spiky = buildLoadTestResult([...timings, ok(400, [10, 30, 230, 250])], run);
    const tail = spiky.tail_analysis!;
    expect(tail.jitter).toMatchObject({ spike_count: 1, spike_threshold_ms: 100 });
    expect(tail.jitter.spikes).toEqual([{ request_index: 4, token_index: 2, itl_ms: 200 }]);
    expect(tail.jitter.itl_cv).toBeGreaterThan(0.5);
    expect(tail.jitter.itl_iqr_ms).toBe(0);
    expect(tail.tail_ratio_itl).toBeGreaterThan(5);
    // TTFT rises 20 ms per 100 ms of start time: 12 000 ms per minute.
    expect(result.tail_analysis!.drift.ttft_slope_ms_per_min).toBeCloseTo(12_000, 6);
    expect(result.tail_analysis!.drift.itl_slope_ms_per_min).toBe(0);
    expect(result.tail_analysis!.drift.degradation_detected).toBe(false);
  });

  it('writes a record that parses back, even when every request failed', () => {
    const allFailed = buildLoadTestResult([timings[3]!], run);
    expect(allFailed).toMatchObject({
      error_rate: 1,
      ttft_p50_ms: 0,
      decode_tok_per_sec: 0,
      goodput_pct: 0,
    });
    expect(parseLoadTestResult(JSON.stringify(allFailed), 'x.json').runtime_name).toBe('fake');
    expect(parseLoadTestResult(JSON.stringify(result), 'y.json').request_details).toHaveLength(4);
  });
});
