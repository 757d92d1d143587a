import type { MetricThreshold } from './contract.js';
import type { TailAnalysis } from './load-test-result.js';

/** Rust's `f64::round`: half away from zero (`Math.round` rounds -0.5 up to -0). */
export function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** Rust's `as u8` on a float: truncates, saturates to 0–255, NaN to 0. */
function toU8(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.min(255, Math.max(0, Math.trunc(x)));
}

/**
 * A metric's score, 0–100, against its threshold: 100 at or beyond `excellent`, 75 at `good`,
 * linear between them, and beyond `good` proportional (`75 × value / good` for higher-is-better,
 * `75 × good / value` for lower-is-better), capped at 74 so it stays below "good".
 */
export function computeMetricScore(value: number, threshold: MetricThreshold): number {
  const { excellent, good } = threshold;
  if (threshold.higher_is_better) {
    if (value >= excellent) return 100;
    if (value <= 0) return 0;
    if (value >= good)
      return toU8(roundHalfAwayFromZero(75 + 25 * ((value - good) / (excellent - good))));
    return toU8(Math.min(roundHalfAwayFromZero((75 * value) / good), 74));
  }
  if (value <= excellent) return 100;
  if (value <= good)
    return toU8(roundHalfAwayFromZero(75 + 25 * ((good - value) / (good - excellent))));
  if (good > 0) return toU8(Math.max(Math.min(roundHalfAwayFromZero((75 * good) / value), 74), 0));
  return 0;
}

/**
 * Points taken off the ITL score for jitter: 2 per spike (at most 20) plus the ITL coefficient of
 * variation × 100 (at most 10), rounded, at most 30.
 */
export function computeJitterPenalty(tail: TailAnalysis): number {
  const spikePenalty = Math.min(tail.jitter.spike_count * 2, 20);
  const cvPenalty = Math.min(tail.jitter.itl_cv * 100, 10);
  return toU8(Math.min(roundHalfAwayFromZero(spikePenalty + cvPenalty), 30));
}

/** The label of the first grade whose minimum the composite reaches; `F` below all of them. */
export function assignGrade(
  composite: number,
  grades: ReadonlyArray<readonly [number, string]>,
): string {
  for (const [minScore, label] of grades) {
    if (composite >= minScore) return label;
  }
  return 'F';
}
