import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import { makeTestResult } from '../test-fixtures.js';
import { computePowerEfficiencyScorecard, formatPowerMarkdown, formatPowerTable } from './power.js';
import { NOW, withTelemetry } from './testing.js';

const { grades } = defaultScoringContract();

describe('computePowerEfficiencyScorecard', () => {
  it('scores 1.75 tok/s/W above good (test_power_efficiency_scoring)', () => {
    const card = computePowerEfficiencyScorecard([[withTelemetry(), 'a.json']], grades);
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.score).toBeGreaterThanOrEqual(75);
    // 140 tok/s / 80 W = 1.75: 75 + 25 × 0.25 / 1.5 = 79.2 → 79.
    expect(card.runtimes[0]).toMatchObject({ tok_per_watt: 1.75, score: 79, grade: 'B' });
  });

  it('puts the most tokens per watt first and leaves out runs without power or decode', () => {
    const unpowered = withTelemetry('unpowered');
    unpowered.gpu_telemetry!.power_draw_w.mean = 0;
    const card = computePowerEfficiencyScorecard(
      [
        [withTelemetry('b', 140), 'a.json'],
        [makeTestResult('untracked', 140, 15, 7, 20, 0, 1), 'b.json'],
        [unpowered, 'c.json'],
        [withTelemetry('stalled', 0), 'd.json'],
        [withTelemetry('a', 240), 'e.json'],
      ],
      grades,
    );
    expect(card.runtimes.map((r) => [r.name, r.score, r.best])).toEqual([
      ['a', 100, true],
      ['b', 79, false],
    ]);
  });

  it('serializes with the source field names, in its order', () => {
    const card = computePowerEfficiencyScorecard([[withTelemetry('a'), 'a.json']], grades, NOW);
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","runtimes":[{"name":"a","mean_power_w":80,' +
        '"energy_per_token_mj":5,"tok_per_watt":1.75,"score":79,"grade":"B","best":true}]}',
    );
  });
});

describe('power renderers', () => {
  const card = computePowerEfficiencyScorecard([[withTelemetry(), 'a.json']], grades, NOW);

  it('prints power, energy and tok/s/W to two places with the thresholds', () => {
    expect(formatPowerTable(card).split('\n')).toEqual([
      'Power Efficiency',
      '',
      'Runtime                   Power (W)     mJ/token    tok/s/W    Score    Grade',
      '-'.repeat(76),
      'runtime_a                      80.0          5.0      1.75*       79        B',
      '',
      'Thresholds: excellent >= 3 tok/s/W, good >= 1.5 tok/s/W',
    ]);
  });

  it('prints markdown rows', () => {
    expect(formatPowerMarkdown(card).split('\n')).toEqual([
      '## Power Efficiency',
      '',
      '| Runtime | Power (W) | mJ/token | tok/s/W | Score | Grade |',
      '|---------|-----------|----------|---------|-------|-------|',
      '| runtime_a | 80.0 | 5.0 | 1.75 | 79 | B |',
    ]);
  });
});
