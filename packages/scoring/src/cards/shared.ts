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
 * Rust's `{:.N}` of an `f64`. Both Rust and `toFixed` round the exact binary value, so they agree
 * except on exact decimal ties (`0.25`, `0.125`, `2.5`), which Rust rounds to even (`0.2`, `0.12`,
 * `2`) and `toFixed` away from zero. A value that only looks like a tie (`0.45` is
 * 0.45000000000000001…) is not one: Rust prints `0.5`, like `toFixed`. Rust also keeps the sign of
 * `-0` and prints infinities as `inf`.
 */
export function fixed(x: number, digits: number): string {
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  if (Number.isNaN(x)) return 'NaN';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const magnitude = Math.abs(x);
  // x is an exact tie iff x × 2 × 10^d is an odd integer N. x is dyadic, so that needs 5^d | N
  // and x = (N / 5^d) / 2^(d+1), both of which check exactly in floating point.
  const twice = magnitude * 2 * 10 ** digits;
  const fives = 5 ** digits;
  const tie =
    Number.isSafeInteger(twice) &&
    twice % 2 === 1 &&
    twice % fives === 0 &&
    twice / fives / 2 ** (digits + 1) === magnitude;
  if (tie) {
    const below = (twice - 1) / 2;
    const even = below % 2 === 0 ? below : below + 1;
    return `${sign}${(even / 10 ** digits).toFixed(digits)}`;
  }
  return `${sign}${magnitude.toFixed(digits)}`;
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

/**
 * Rust's `String::cmp`: byte order of UTF-8, which is code point order. JavaScript's `<` compares
 * UTF-16 code units, which puts astral characters before U+E000–U+FFFF; names are compared by code
 * point here so runtimes sort as the source sorts them.
 */
export function compareNames(a: string, b: string): number {
  let i = 0;
  let j = 0;
  for (;;) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(j);
    if (x === undefined) return y === undefined ? 0 : -1;
    if (y === undefined) return 1;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
}
