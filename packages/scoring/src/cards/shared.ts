import type { MetricThreshold } from '../contract.js';
import type { LoadTestResult } from '../load-test-result.js';
import { assignGrade, computeMetricScore } from '../metric-score.js';

/** Result files as the cards take them: the record and the path it came from. */
export type CardInput = ReadonlyArray<readonly [LoadTestResult, string]>;

/** The grade ladder of a contract: `[min_score, label]`, best first. */
export type Grades = ReadonlyArray<readonly [number, string]>;

/** Score and grade of one value against a card's own threshold. */
export function scoreAndGrade(
  value: number,
  threshold: MetricThreshold,
  grades: Grades,
): { score: number; grade: string } {
  const score = computeMetricScore(value, threshold);
  return { score, grade: assignGrade(score, grades) };
}

/**
 * Sorts rows by `key` (ascending or descending, stable, NaN as equal like Rust's `partial_cmp`
 * fallback) and marks the first row best, as every single-metric card of the source does.
 */
export function rankBest<T extends { best: boolean }>(
  rows: T[],
  key: (row: T) => number,
  order: 'asc' | 'desc',
): T[] {
  rows.sort((a, b) => (order === 'asc' ? key(a) - key(b) : key(b) - key(a)) || 0);
  if (rows[0]) rows[0].best = true;
  return rows;
}

/**
 * Rust's `{:.N}`: like `toFixed`, but an exact binary tie rounds to even (`0.25` → `0.2`) where
 * `toFixed` rounds it up.
 */
export function fixed(x: number, digits: number): string {
  const scale = 10 ** digits;
  const scaled = Math.abs(x) * scale;
  const floor = Math.floor(scaled);
  if (scaled - floor === 0.5 && floor % 2 === 0) {
    return ((Math.sign(x) * floor) / scale).toFixed(digits);
  }
  return x.toFixed(digits);
}

/** Rust's `{:>W.N}`. */
export function right(x: number | string, width: number, digits?: number): string {
  const text = typeof x === 'number' && digits !== undefined ? fixed(x, digits) : String(x);
  return text.padStart(width);
}

/** Rust's `{:<W}`. */
export function left(text: string, width: number): string {
  return text.padEnd(width);
}

/** The `*` after a best row's value in text tables. */
export function star(best: boolean): string {
  return best ? '*' : ' ';
}

/** Appends `value` to the list under `key`, creating the list on first use. */
export function groupPush<K, V>(groups: Map<K, V[]>, key: K, value: V): void {
  const list = groups.get(key);
  if (list) list.push(value);
  else groups.set(key, [value]);
}
