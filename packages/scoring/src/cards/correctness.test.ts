import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import type { LoadTestResult } from '../load-test-result.js';
import { makeTestResult } from '../test-fixtures.js';
import {
  computeCorrectnessScorecard,
  formatCorrectnessMarkdown,
  formatCorrectnessTable,
} from './correctness.js';
import { NOW } from './testing.js';

const { grades } = defaultScoringContract();

function withQuality(name: string, passed: number, total = 100): LoadTestResult {
  const r = makeTestResult(name, 150, 15, 7, 20, 0, 1);
  r.quality = {
    validation_level: 'basic',
    total_validated: total,
    passed,
    failed: total - passed,
    pass_rate: total > 0 ? passed / total : 0,
    failures: [],
  };
  return r;
}

describe('computeCorrectnessScorecard', () => {
  it('scores a 100 % pass rate 100 (test_correctness_scoring)', () => {
    const card = computeCorrectnessScorecard([[withQuality('runtime_a', 100), 'a.json']], grades);
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.score).toBe(100);
  });

  it('scores a 90 % pass rate below good (test_correctness_partial)', () => {
    const card = computeCorrectnessScorecard([[withQuality('runtime_a', 90), 'a.json']], grades);
    expect(card.runtimes[0]!.score).toBeLessThan(75);
    // 75 × 0.90 / 0.95 = 71.05 → 71.
    expect(card.runtimes[0]).toMatchObject({ score: 71, grade: 'B' });
  });

  it('puts the highest pass rate first and leaves out runs without validated outputs', () => {
    const card = computeCorrectnessScorecard(
      [
        [withQuality('partial', 90), 'a.json'],
        [makeTestResult('unvalidated', 150, 15, 7, 20, 0, 1), 'b.json'],
        [withQuality('empty', 0, 0), 'c.json'],
        [withQuality('perfect', 100), 'd.json'],
      ],
      grades,
    );
    expect(card.runtimes.map((r) => [r.name, r.best])).toEqual([
      ['perfect', true],
      ['partial', false],
    ]);
  });

  it('serializes with the source field names, in its order', () => {
    const card = computeCorrectnessScorecard([[withQuality('a', 100), 'a.json']], grades, NOW);
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","runtimes":[{"name":"a","pass_rate":1,"total":100,' +
        '"passed":100,"score":100,"grade":"A+","best":true}]}',
    );
  });
});

describe('correctness renderers', () => {
  const card = computeCorrectnessScorecard(
    [
      [withQuality('runtime_a', 90), 'a.json'],
      [withQuality('runtime_b', 100), 'b.json'],
    ],
    grades,
    NOW,
  );

  it('prints pass rates as percentages with a star after the best', () => {
    expect(formatCorrectnessTable(card).split('\n')).toEqual([
      'Correctness Scores',
      '',
      'Runtime                   Pass Rate   Passed    Total    Score    Grade',
      '-'.repeat(70),
      'runtime_b                    100.0%*      100      100      100       A+',
      'runtime_a                     90.0%        90      100       71        B',
      '',
      'Thresholds: excellent = 100%, good = 95%',
    ]);
  });

  it('prints markdown rows', () => {
    expect(formatCorrectnessMarkdown(card).split('\n')).toEqual([
      '## Correctness Scores',
      '',
      '| Runtime | Pass Rate | Passed | Total | Score | Grade |',
      '|---------|-----------|--------|-------|-------|-------|',
      '| runtime_b | 100.0% | 100 | 100 | 100 | A+ |',
      '| runtime_a | 90.0% | 90 | 100 | 71 | B |',
    ]);
  });
});
