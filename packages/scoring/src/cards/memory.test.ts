import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import { makeTestResult } from '../test-fixtures.js';
import { computeMemoryScorecard, formatMemoryMarkdown, formatMemoryTable } from './memory.js';
import { NOW, withTelemetry } from './testing.js';

const { grades } = defaultScoringContract();

describe('computeMemoryScorecard', () => {
  it('scores 140 tok/s on 3500 MB of VRAM at least 95 (test_memory_scoring)', () => {
    const card = computeMemoryScorecard([[withTelemetry(), 'a.json']], grades);
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.score).toBeGreaterThanOrEqual(95);
    // 140 / (3500 / 1024) = 40.96 tok/s per GiB, past the excellent 40.
    expect(card.runtimes[0]).toMatchObject({ tok_per_sec_per_gb: 40.96, score: 100, grade: 'A+' });
  });

  it('puts the most efficient first and leaves out runs without telemetry or VRAM use', () => {
    const idle = withTelemetry('idle');
    idle.gpu_telemetry!.memory_used_mb.max = 0;
    const card = computeMemoryScorecard(
      [
        [withTelemetry('slower', 70), 'a.json'],
        [makeTestResult('untracked', 140, 15, 7, 20, 0, 1), 'b.json'],
        [idle, 'c.json'],
        [withTelemetry('faster', 140), 'd.json'],
      ],
      grades,
    );
    // 70 tok/s: 20.48 tok/s/GB → 75 + 25 × 0.48 / 20 = 75.6 → 76.
    expect(card.runtimes.map((r) => [r.name, r.score, r.best])).toEqual([
      ['faster', 100, true],
      ['slower', 76, false],
    ]);
  });

  it('serializes with the source field names, in its order', () => {
    const card = computeMemoryScorecard([[withTelemetry('a', 40.96), 'a.json']], grades, NOW);
    expect(Object.keys(card)).toEqual(['timestamp', 'runtimes']);
    expect(Object.keys(card.runtimes[0]!)).toEqual([
      'name',
      'vram_used_mb',
      'vram_total_mb',
      'tok_per_sec_per_gb',
      'score',
      'grade',
      'best',
    ]);
  });
});

describe('memory renderers', () => {
  const card = computeMemoryScorecard(
    [
      [withTelemetry('slower', 70), 'a.json'],
      [withTelemetry('faster', 140), 'b.json'],
    ],
    grades,
    NOW,
  );

  it('prints VRAM, efficiency with a star after the best, and the thresholds', () => {
    expect(formatMemoryTable(card).split('\n')).toEqual([
      'Memory Efficiency',
      '',
      'Runtime                     VRAM MB   Total MB     tok/s/GB    Score    Grade',
      '-'.repeat(76),
      'faster                         3500       8192        41.0*      100       A+',
      'slower                         3500       8192        20.5        76        B',
      '',
      'Thresholds: excellent >= 40 tok/s/GB, good >= 20 tok/s/GB',
    ]);
  });

  it('prints markdown rows', () => {
    expect(formatMemoryMarkdown(card).split('\n')).toEqual([
      '## Memory Efficiency',
      '',
      '| Runtime | VRAM (MB) | Total (MB) | tok/s/GB | Score | Grade |',
      '|---------|-----------|------------|----------|-------|-------|',
      '| faster | 3500 | 8192 | 41.0 | 100 | A+ |',
      '| slower | 3500 | 8192 | 20.5 | 76 | B |',
    ]);
  });
});
