import type { GpuTelemetry, LoadTestResult } from '../load-test-result.js';
import { makeTestResult } from '../test-fixtures.js';

// Fixtures of the card tests, as the source's tests build them. Test-only; not exported from the
// package.

/** The GPU telemetry of the source's memory and power tests: 3500 MB peak of 8192, 80 W mean. */
export function gpuTelemetry(): GpuTelemetry {
  const stat = (mean: number, max: number, min: number) => ({ mean, max, min });
  return {
    samples: 10,
    gpu_utilization_pct: stat(80, 95, 60),
    memory_used_mb: stat(3200, 3500, 3000),
    memory_total_mb: 8192,
    power_draw_w: stat(80, 100, 60),
    temperature_c: stat(70, 80, 50),
    clock_gpu_mhz: stat(1500, 1500, 1500),
    throttle_events: 0,
    energy_total_wh: 1,
    energy_per_token_mj: 5,
    energy_per_request_mj: 160,
  };
}

/** `make_test_result(name, 140, 15, 7, 20, 0, 1)` with {@link gpuTelemetry}. */
export function withTelemetry(name = 'runtime_a', decode = 140): LoadTestResult {
  const result = makeTestResult(name, decode, 15, 7, 20, 0, 1);
  result.gpu_telemetry = gpuTelemetry();
  return result;
}

/** The card's JSON, parsed back: what a consumer of `--format json` reads. */
export function asJson(card: unknown): unknown {
  return JSON.parse(JSON.stringify(card));
}

/** A fixed timestamp for cards whose rendering a test compares. */
export const NOW = new Date('2026-03-11T00:00:00Z');
