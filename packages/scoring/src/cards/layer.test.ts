import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import { makeTestResult, makeTestResultWithLayers } from '../test-fixtures.js';
import { computeLayerScorecard, formatLayerMarkdown, formatLayerTable } from './layer.js';
import { NOW } from './testing.js';

const { grades } = defaultScoringContract();

describe('computeLayerScorecard', () => {
  it('puts the fastest per-layer time first and marks it best (test_layer_scoring_best_first)', () => {
    const card = computeLayerScorecard(
      [
        [makeTestResultWithLayers('fast', 160, 12, 220, 2300), 'a.json'],
        [makeTestResultWithLayers('slow', 100, 50, 350, 2300), 'b.json'],
      ],
      grades,
    );
    expect(card.runtimes).toHaveLength(2);
    expect(card.runtimes[0]!.name).toBe('fast');
    expect(card.runtimes[0]!.best).toBe(true);
    expect(card.runtimes[0]!.score).toBeGreaterThan(card.runtimes[1]!.score);
  });

  it('scores 220 µs per layer 100 (test_layer_scoring_excellent_threshold)', () => {
    const card = computeLayerScorecard(
      [[makeTestResultWithLayers('vllm', 160, 12, 220, 2300), 'a.json']],
      grades,
    );
    expect(card.runtimes[0]!.score).toBe(100);
  });

  it('scores beyond "good" proportionally: 350 µs → 75 × 300 / 350 = 64 (C+)', () => {
    const card = computeLayerScorecard(
      [[makeTestResultWithLayers('slow', 100, 50, 350, 2300), 'b.json']],
      grades,
    );
    expect(card.runtimes[0]).toMatchObject({ score: 64, grade: 'C+', best: true });
  });

  it('leaves out results without a positive per-layer time or without a layer count', () => {
    const noLayers = makeTestResultWithLayers('no-layers', 100, 50, 250, 2300);
    noLayers.num_layers = null;
    const zero = makeTestResultWithLayers('zero', 100, 50, 0, 2300);
    const card = computeLayerScorecard(
      [
        [makeTestResult('untimed', 100, 50, 7, 20, 0, 1), 'a.json'],
        [noLayers, 'b.json'],
        [zero, 'c.json'],
      ],
      grades,
    );
    expect(card.runtimes).toEqual([]);
  });

  it('serializes with the source field names, in its order', () => {
    const card = computeLayerScorecard(
      [[makeTestResultWithLayers('fast', 160, 12, 220, 2300), 'a.json']],
      grades,
      NOW,
    );
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","runtimes":[{"name":"fast","us_per_layer":220,' +
        '"num_layers":28,"score":100,"grade":"A+","best":true}]}',
    );
  });
});

describe('layer renderers', () => {
  const card = computeLayerScorecard(
    [
      [makeTestResultWithLayers('slow', 100, 50, 350, 2300), 'b.json'],
      [makeTestResultWithLayers('fast', 160, 12, 220, 2300), 'a.json'],
    ],
    grades,
    NOW,
  );

  it('prints a fixed-width table with a star after the best value and the thresholds', () => {
    expect(formatLayerTable(card).split('\n')).toEqual([
      'Per-Layer Decode Efficiency',
      '',
      'Runtime                  us/layer   Layers    Score    Grade',
      '-'.repeat(60),
      'fast                       220.0*       28      100       A+',
      'slow                       350.0        28       64       C+',
      '',
      'Thresholds: excellent <= 220us, good <= 300us',
    ]);
  });

  it('prints markdown with the best value in bold', () => {
    expect(formatLayerMarkdown(card).split('\n')).toEqual([
      '## Per-Layer Decode Efficiency',
      '',
      '| Runtime | us/layer | Layers | Score | Grade |',
      '|---------|----------|--------|-------|-------|',
      '| fast |  **220.0** | 28 | 100 | A+ |',
      '| slow | 350.0 | 28 | 64 | C+ |',
    ]);
  });
});
