/**
 * Percentiles by linear interpolation between closest ranks: Hyndman & Fan type 7, the default of
 * NumPy's `percentile`, R's `quantile` and most load testers, so figures compare across tools.
 *
 * For sorted values `x[0..n-1]` and `p` in [0, 100], the rank is `h = (n - 1) * p / 100` and the
 * result is `x[⌊h⌋] + (h - ⌊h⌋) * (x[⌊h⌋ + 1] - x[⌊h⌋])`.
 *
 * @param sorted values in ascending order (not checked, for speed; see {@link percentile})
 * @param p percentile in [0, 100]
 * @throws RangeError when `sorted` is empty or `p` is outside [0, 100]
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of an empty sample is undefined');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`p must be in [0, 100], got ${String(p)}`);
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const lower = sorted[lo] as number;
  if (lo + 1 >= n) return lower;
  return lower + (h - lo) * ((sorted[lo + 1] as number) - lower);
}

/**
 * The `p`-th percentile (0–100) of unsorted values, by linear interpolation (type 7).
 * @throws RangeError when `values` is empty, holds a non-finite number, or `p` is outside [0, 100]
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileOfSorted(sortedCopy(values), p);
}

/** Summary statistics of a latency sample, in the sample's own unit. */
export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  stddev: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/**
 * Count, extremes, mean, population standard deviation and p50/p90/p95/p99 of a sample.
 * @throws RangeError when `values` is empty or holds a non-finite number
 */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = sortedCopy(values);
  const n = sorted.length;
  if (n === 0) throw new RangeError('cannot summarize an empty sample');
  const { mean, stddev } = meanAndStddev(sorted);
  return {
    count: n,
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    mean,
    stddev,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
  };
}

/**
 * Mean and population standard deviation; both 0 for an empty sample.
 * @internal
 */
export function meanAndStddev(values: ArrayLike<number>): { mean: number; stddev: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, stddev: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((values[i] as number) - mean) ** 2;
  return { mean, stddev: Math.sqrt(squares / n) };
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  const sorted = Float64Array.from(values);
  for (let i = 0; i < sorted.length; i++) {
    if (!Number.isFinite(sorted[i])) {
      throw new RangeError(`sample value at index ${i} is not a finite number: ${sorted[i]}`);
    }
  }
  return sorted.sort();
}
