import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames, fixed, rankBest } from './shared.js';

describe('fixed', () => {
  it("rounds exact decimal ties to even, as Rust's {:.N} does", () => {
    expect(fixed(0.25, 1)).toBe('0.2');
    expect(fixed(0.75, 1)).toBe('0.8');
    expect(fixed(0.125, 2)).toBe('0.12');
    expect(fixed(2.5, 0)).toBe('2');
    expect(fixed(3.5, 0)).toBe('4');
    expect(fixed(-0.25, 1)).toBe('-0.2');
  });

  it('rounds values that only look like ties by their exact binary value', () => {
    // 0.45 is 0.4500000000000000111…, 1.45 is 1.4499999999999999555…
    expect(fixed(0.45, 1)).toBe('0.5');
    expect(fixed(1.45, 1)).toBe('1.4');
    expect(fixed(1.005, 2)).toBe('1.00');
  });

  it('keeps the sign of -0 and prints infinities as Rust does', () => {
    expect(fixed(-0, 1)).toBe('-0.0');
    expect(fixed(-0.5, 0)).toBe('-0');
    expect(fixed(Number.POSITIVE_INFINITY, 1)).toBe('inf');
    expect(fixed(Number.NEGATIVE_INFINITY, 1)).toBe('-inf');
  });

  it('agrees with toFixed on every value that is not an exact tie', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        (x, d) => {
          const twice = Math.abs(x) * 2 * 10 ** d;
          fc.pre(!Number.isInteger(twice) && !Object.is(x, -0));
          return fixed(x, d) === x.toFixed(d);
        },
      ),
    );
  });
});

describe('compareNames', () => {
  it('orders by code point, as Rust orders UTF-8 strings', () => {
    expect(compareNames('a', 'b')).toBeLessThan(0);
    expect(compareNames('b', 'a')).toBeGreaterThan(0);
    expect(compareNames('a', 'a')).toBe(0);
    expect(compareNames('a', 'ab')).toBeLessThan(0);
    expect(compareNames('Z', 'a')).toBeLessThan(0);
    // UTF-16 puts the surrogate pair of U+1F600 before U+FFFD; code points do not.
    expect(compareNames('\uFFFD', '\u{1F600}')).toBeLessThan(0);
  });
});

describe('rankBest', () => {
  it('sorts stably in the requested order and marks only the first row best', () => {
    const rows = [
      { id: 'a', v: 2, best: false },
      { id: 'b', v: 1, best: false },
      { id: 'c', v: 2, best: false },
    ];
    expect(rankBest(rows, (r) => r.v, 'desc').map((r) => [r.id, r.best])).toEqual([
      ['a', true],
      ['c', false],
      ['b', false],
    ]);
    expect(rankBest([], () => 0, 'asc')).toEqual([]);
  });
});
