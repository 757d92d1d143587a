import { describe, expect, it } from 'vitest';
import { defaultScoringContract, type MetricThreshold } from './contract.js';
import type { TailAnalysis } from './load-test-result.js';
import { assignGrade, computeJitterPenalty, computeMetricScore } from './metric-score.js';

// Ported from the source's unit tests, with their exact expected numbers.
const decode: MetricThreshold = { excellent: 160, good: 120, higher_is_better: true };
const ttft: MetricThreshold = { excellent: 12, good: 50, higher_is_better: false };
const errorRate: MetricThreshold = { excellent: 0, good: 0.01, higher_is_better: false };

function tail(overrides: {
  itl_cv: number;
  spike_count: number;
  itl_p999_ms: number;
  itl_p9999_ms: number;
  latency_p999_ms: number;
  latency_p9999_ms: number;
  tail_ratio_itl: number;
  tail_ratio_latency: number;
  itl_iqr_ms: number;
}): TailAnalysis {
  return {
    itl_p999_ms: overrides.itl_p999_ms,
    itl_p9999_ms: overrides.itl_p9999_ms,
    ttft_p999_ms: 15,
    ttft_p9999_ms: 15,
    latency_p999_ms: overrides.latency_p999_ms,
    latency_p9999_ms: overrides.latency_p9999_ms,
    tail_ratio_itl: overrides.tail_ratio_itl,
    tail_ratio_ttft: 1,
    tail_ratio_latency: overrides.tail_ratio_latency,
    jitter: {
      itl_cv: overrides.itl_cv,
      itl_iqr_ms: overrides.itl_iqr_ms,
      spike_count: overrides.spike_count,
      spike_threshold_ms: 35,
      spikes: [],
    },
    drift: { itl_slope_ms_per_min: 0, ttft_slope_ms_per_min: 0, degradation_detected: false },
  };
}

describe('computeMetricScore', () => {
  it('test_higher_is_better_at_excellent', () => {
    expect(computeMetricScore(160, decode)).toBe(100);
    expect(computeMetricScore(200, decode)).toBe(100);
  });
  it('test_higher_is_better_at_good', () => {
    expect(computeMetricScore(120, decode)).toBe(75);
  });
  it('test_higher_is_better_below_good', () => {
    expect(computeMetricScore(60, decode)).toBe(38);
  });
  it('test_higher_is_better_zero', () => {
    expect(computeMetricScore(0, decode)).toBe(0);
  });
  it('test_lower_is_better_at_excellent', () => {
    expect(computeMetricScore(12, ttft)).toBe(100);
    expect(computeMetricScore(5, ttft)).toBe(100);
  });
  it('test_lower_is_better_at_good', () => {
    expect(computeMetricScore(50, ttft)).toBe(75);
  });
  it('test_lower_is_better_above_good', () => {
    expect(computeMetricScore(100, ttft)).toBe(38);
  });
  it('test_error_rate_zero_is_perfect', () => {
    expect(computeMetricScore(0, errorRate)).toBe(100);
  });
  it('test_error_rate_low_still_high_score', () => {
    expect(computeMetricScore(0.007, errorRate)).toBeGreaterThanOrEqual(80);
  });
});

describe('computeJitterPenalty', () => {
  it('test_jitter_penalty_clean', () => {
    const clean = tail({
      itl_cv: 0.01,
      spike_count: 0,
      itl_p999_ms: 7,
      itl_p9999_ms: 7,
      latency_p999_ms: 250,
      latency_p9999_ms: 250,
      tail_ratio_itl: 1,
      tail_ratio_latency: 1,
      itl_iqr_ms: 0.1,
    });
    expect(computeJitterPenalty(clean)).toBe(1);
  });
  it('test_jitter_penalty_spiky', () => {
    const spiky = tail({
      itl_cv: 0.15,
      spike_count: 10,
      itl_p999_ms: 50,
      itl_p9999_ms: 100,
      latency_p999_ms: 300,
      latency_p9999_ms: 350,
      tail_ratio_itl: 7,
      tail_ratio_latency: 1.2,
      itl_iqr_ms: 5,
    });
    const penalty = computeJitterPenalty(spiky);
    expect(penalty).toBeGreaterThanOrEqual(25);
    expect(penalty).toBeLessThanOrEqual(30);
  });
});

describe('assignGrade', () => {
  it('test_grade_assignment', () => {
    const { grades } = defaultScoringContract();
    expect(assignGrade(97, grades)).toBe('A+');
    expect(assignGrade(92, grades)).toBe('A');
    expect(assignGrade(85, grades)).toBe('A-');
    expect(assignGrade(80, grades)).toBe('B+');
    expect(assignGrade(75, grades)).toBe('B');
    expect(assignGrade(60, grades)).toBe('C+');
    expect(assignGrade(50, grades)).toBe('C');
    expect(assignGrade(40, grades)).toBe('D');
    expect(assignGrade(30, grades)).toBe('D-');
    expect(assignGrade(10, grades)).toBe('F');
  });
});

describe('the default contract', () => {
  it('test_no_single_metric_dominates', () => {
    const { interactive_weights } = defaultScoringContract();
    for (const zeroed of Object.keys(interactive_weights)) {
      let weightedSum = 0;
      for (const [metric, weight] of Object.entries(interactive_weights)) {
        weightedSum += weight * (metric === zeroed ? 0 : 100);
      }
      expect(weightedSum, `zeroing ${zeroed}`).toBeGreaterThanOrEqual(40);
    }
  });
  it('test_weights_sum_to_one', () => {
    const contract = defaultScoringContract();
    const sum = (w: Record<string, number>) => Object.values(w).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum(contract.interactive_weights) - 1)).toBeLessThan(0.001);
    expect(Math.abs(sum(contract.throughput_weights) - 1)).toBeLessThan(0.001);
  });
});
