import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import type { LoadTestResult } from '../load-test-result.js';
import { makeTestResult } from '../test-fixtures.js';
import {
  computeColdStartScorecard,
  formatColdStartMarkdown,
  formatColdStartTable,
} from './cold-start.js';
import { NOW } from './testing.js';

const { grades } = defaultScoringContract();

function coldStart(name: string, ms: number | null): LoadTestResult {
  const r = makeTestResult(name, 140, 15, 7, 20, 0, 1);
  r.cold_start_ms = ms;
  return r;
}

describe('computeColdStartScorecard', () => {
  it('puts the fastest start first and scores it above the slow one (test_cold_start_scoring)', () => {
    const fast = makeTestResult('realizr', 140, 15, 7, 20, 0, 1);
    fast.cold_start_ms = 300;
    const slow = makeTestResult('vllm', 160, 12, 6, 15, 0, 1);
    slow.cold_start_ms = 15000;
    const card = computeColdStartScorecard(
      [
        [fast, 'a.json'],
        [slow, 'b.json'],
      ],
      grades,
    );
    expect(card.runtimes).toHaveLength(2);
    expect(card.runtimes[0]!.name).toBe('realizr');
    expect(card.runtimes[0]!.score).toBeGreaterThan(card.runtimes[1]!.score);
    // 75 × 3000 / 15000 = 15.
    expect(card.runtimes.map((r) => [r.score, r.grade, r.best])).toEqual([
      [100, 'A+', true],
      [15, 'F', false],
    ]);
  });

  it('leaves out runs without a positive cold start time', () => {
    const card = computeColdStartScorecard(
      [
        [coldStart('none', null), 'a.json'],
        [coldStart('zero', 0), 'b.json'],
        [coldStart('negative', -5), 'c.json'],
      ],
      grades,
    );
    expect(card.runtimes).toEqual([]);
  });

  it('serializes with the source field names, in its order', () => {
    const card = computeColdStartScorecard([[coldStart('a', 1750), 'a.json']], grades, NOW);
    // 75 + 25 × (3000 − 1750) / 2500 = 87.5 → 88 (half away from zero).
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","runtimes":[{"name":"a","cold_start_ms":1750,' +
        '"score":88,"grade":"A-","best":true}]}',
    );
  });
});

describe('cold-start renderers', () => {
  const card = computeColdStartScorecard(
    [
      [coldStart('vllm', 15000), 'b.json'],
      [coldStart('realizr', 300), 'a.json'],
    ],
    grades,
    NOW,
  );

  it('prints whole milliseconds with a star after the fastest, and the thresholds', () => {
    expect(formatColdStartTable(card).split('\n')).toEqual([
      'Cold Start Time',
      '',
      'Runtime                    Start (ms)    Score    Grade',
      '-'.repeat(56),
      'realizr                          300*      100       A+',
      'vllm                           15000        15        F',
      '',
      'Thresholds: excellent <= 500ms, good <= 3000ms',
    ]);
  });

  it('prints markdown rows', () => {
    expect(formatColdStartMarkdown(card).split('\n')).toEqual([
      '## Cold Start Time',
      '',
      '| Runtime | Start (ms) | Score | Grade |',
      '|---------|------------|-------|-------|',
      '| realizr | 300 | 100 | A+ |',
      '| vllm | 15000 | 15 | F |',
    ]);
  });
});
