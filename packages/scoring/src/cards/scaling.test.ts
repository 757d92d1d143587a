import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import type { LoadTestResult } from '../load-test-result.js';
import { makeTestResult } from '../test-fixtures.js';
import {
  computeConcurrencyScalingScorecard,
  formatScalingMarkdown,
  formatScalingTable,
} from './scaling.js';
import { NOW } from './testing.js';

const { grades } = defaultScoringContract();

function run(name: string, decode: number, concurrency: number, aggregate: number): LoadTestResult {
  const r = makeTestResult(name, decode, 15, 7, 20, 0, concurrency);
  r.tokens_per_sec = aggregate;
  return r;
}

describe('computeConcurrencyScalingScorecard', () => {
  it('rates near-linear scaling at least 90 (test_concurrency_scaling)', () => {
    const c1 = makeTestResult('runtime_a-c1', 150, 15, 7, 20, 0, 1);
    const c4 = makeTestResult('runtime_a-c4', 140, 30, 8, 40, 0, 4);
    c4.tokens_per_sec = 540;
    const card = computeConcurrencyScalingScorecard(
      [
        [c1, 'c1.json'],
        [c4, 'c4.json'],
      ],
      grades,
    );
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.scaling_efficiency).toBeGreaterThan(0.85);
    expect(card.runtimes[0]!.score).toBeGreaterThanOrEqual(90);
    // 540 / (150 × 4) = 0.9, the excellent threshold.
    expect(card.runtimes[0]).toMatchObject({
      name: 'runtime_a',
      c1_decode_tok_s: 150,
      peak_aggregate_tok_s: 540,
      peak_concurrency: 4,
      scaling_efficiency: 0.9,
      score: 100,
    });
  });

  it('takes the best c=1 decode and the run with the highest aggregate as the peak', () => {
    const card = computeConcurrencyScalingScorecard(
      [
        [run('x', 150, 1, 150), 'a.json'],
        [run('x', 160, 1, 160), 'b.json'],
        [run('x-c8', 90, 8, 720), 'c.json'],
        [run('x-c4', 130, 4, 520), 'd.json'],
      ],
      grades,
    );
    // 720 / (160 × 8) = 0.5625: 75 + 25 × 0.0625 / 0.4 = 78.9 → 79.
    expect(card.runtimes[0]).toMatchObject({
      c1_decode_tok_s: 160,
      peak_aggregate_tok_s: 720,
      peak_concurrency: 8,
      scaling_efficiency: 0.5625,
      score: 79,
      grade: 'B',
    });
  });

  it('skips a runtime seen at one concurrency or without a c=1 run', () => {
    const card = computeConcurrencyScalingScorecard(
      [
        [run('x-c4', 140, 4, 500), 'a.json'],
        [run('x-c8', 140, 8, 900), 'b.json'],
        [run('y', 100, 1, 100), 'y.json'],
        [run('z', 0, 1, 0), 'z1.json'],
        [run('z-c4', 100, 4, 400), 'z4.json'],
      ],
      grades,
    );
    expect(card.runtimes).toEqual([]);
  });

  it('puts the most efficient runtime first and marks it best', () => {
    const card = computeConcurrencyScalingScorecard(
      [
        [run('a', 100, 1, 100), 'a1.json'],
        [run('a-c4', 100, 4, 200), 'a4.json'],
        [run('b', 100, 1, 100), 'b1.json'],
        [run('b-c4', 100, 4, 400), 'b4.json'],
      ],
      grades,
    );
    expect(card.runtimes.map((r) => [r.name, r.best])).toEqual([
      ['b', true],
      ['a', false],
    ]);
  });

  it('serializes with the source field names, in its order', () => {
    const card = computeConcurrencyScalingScorecard(
      [
        [run('a', 100, 1, 100), 'a1.json'],
        [run('a-c4', 100, 4, 400), 'a4.json'],
      ],
      grades,
      NOW,
    );
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","runtimes":[{"name":"a","c1_decode_tok_s":100,' +
        '"peak_aggregate_tok_s":400,"peak_concurrency":4,"scaling_efficiency":1,"score":100,' +
        '"grade":"A+","best":true}]}',
    );
  });
});

describe('scaling renderers', () => {
  const card = computeConcurrencyScalingScorecard(
    [
      [run('runtime_a-c1', 150, 1, 150), 'c1.json'],
      [run('runtime_a-c4', 140, 4, 540), 'c4.json'],
    ],
    grades,
    NOW,
  );

  it('prints efficiency as a percentage, the thresholds and the formula', () => {
    expect(formatScalingTable(card).split('\n')).toEqual([
      'Concurrency Scaling Efficiency',
      '',
      'Runtime                   c=1 tok/s    Peak Aggr   Peak c   Efficiency    Score    Grade',
      '-'.repeat(88),
      'runtime_a                     150.0        540.0        4        90.0%*      100       A+',
      '',
      'Thresholds: excellent >= 90%, good >= 50%',
      'Efficiency = peak_aggregate / (c1_decode × peak_concurrency)',
    ]);
  });

  it('prints markdown rows', () => {
    expect(formatScalingMarkdown(card).split('\n')).toEqual([
      '## Concurrency Scaling Efficiency',
      '',
      '| Runtime | c=1 tok/s | Peak Aggregate | Peak c | Efficiency | Score | Grade |',
      '|---------|-----------|---------------|--------|------------|-------|-------|',
      '| runtime_a | 150.0 | 540.0 | 4 | 90.0% | 100 | A+ |',
    ]);
  });
});
