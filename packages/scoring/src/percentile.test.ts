import { describe, expect, it } from 'vitest';
import { percentile, percentileOfSorted, summarize } from './percentile.js';

describe('percentile', () => {
  it('interpolates linearly between closest ranks like NumPy', () => {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) → [1, 1.75, 2.5, 3.7, 4]
    const values = [4, 1, 3, 2];
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 25)).toBeCloseTo(1.75, 12);
    expect(percentile(values, 50)).toBeCloseTo(2.5, 12);
    expect(percentile(values, 90)).toBeCloseTo(3.7, 12);
    expect(percentile(values, 100)).toBe(4);
  });

  it('returns the only value of a one-element sample for every p', () => {
    expect(percentileOfSorted([7], 0)).toBe(7);
    expect(percentileOfSorted([7], 99)).toBe(7);
  });

  it('rejects an empty sample, a p out of range and a non-finite value', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow('p must be in [0, 100]');
    expect(() => percentile([1, Number.NaN], 50)).toThrow('index 1');
  });
});

describe('summarize', () => {
  it('reports count, extremes, mean, population stddev and tail percentiles', () => {
    const summary = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(summary).toMatchObject({ count: 8, min: 2, max: 9, mean: 5, stddev: 2, p50: 4.5 });
    expect(summary.p99).toBeCloseTo(8.86, 12);
  });
});
