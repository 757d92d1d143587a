import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import { NOW } from './testing.js';
import {
  classifyBottleneck,
  computeTrainingStepScorecard,
  formatTrainingStepMarkdown,
  formatTrainingStepTable,
  TrainingBottleneck,
  type TrainingStepRun,
} from './training-step.js';

const { grades } = defaultScoringContract();

const runs: TrainingStepRun[] = [
  {
    name: 'slow',
    tokensPerSec: 1500,
    wallCoverage: 0.9,
    bottleneck: 'Launch',
    hotspotLayers: 2,
    msPerStep: 80,
  },
  {
    name: 'fast',
    tokensPerSec: 6000,
    wallCoverage: 0.95,
    bottleneck: 'Compute',
    hotspotLayers: 1,
    msPerStep: 20,
  },
];

describe('classifyBottleneck', () => {
  it('blames transfer first, then launch overhead, then compute, else memory bandwidth', () => {
    expect(classifyBottleneck(10, 31, 90)).toBe('Transfer');
    expect(classifyBottleneck(19, 30, 90)).toBe('Launch');
    expect(classifyBottleneck(20, 10, 51)).toBe('Compute');
    expect(classifyBottleneck(50, 10, 50)).toBe('MemoryBw');
  });

  it('labels each bottleneck as the source displays it', () => {
    expect(
      ['MemoryBw', 'Compute', 'Launch', 'Transfer'].map((b) =>
        TrainingBottleneck.label(b as TrainingBottleneck),
      ),
    ).toEqual(['memory_bw', 'compute', 'launch', 'transfer']);
  });
});

describe('computeTrainingStepScorecard', () => {
  it('ranks runs by training tok/s: 6000 scores 100 and is best, 1500 scores 75', () => {
    const card = computeTrainingStepScorecard(runs, 'tiny-llama', grades, NOW);
    expect(card.model_name).toBe('tiny-llama');
    expect(card.runtimes.map((r) => [r.name, r.score, r.grade, r.best])).toEqual([
      ['fast', 100, 'A+', true],
      ['slow', 75, 'B', false],
    ]);
  });

  it('serializes with the source field names and serde names for the bottleneck', () => {
    const card = computeTrainingStepScorecard(runs.slice(1), 'tiny-llama', grades, NOW);
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","model_name":"tiny-llama","runtimes":[{"name":"fast",' +
        '"ms_per_step":20,"tokens_per_sec":6000,"wall_coverage":0.95,"bottleneck":"Compute",' +
        '"hotspot_layers":1,"score":100,"grade":"A+","best":true}]}',
    );
  });
});

describe('formatTrainingStepTable', () => {
  it('prints the model, a fixed-width row per run and the bottleneck unpadded, as Rust does', () => {
    const card = computeTrainingStepScorecard(runs, 'tiny-llama', grades, NOW);
    expect(formatTrainingStepTable(card).split('\n')).toEqual([
      'Training Step Scorecard — tiny-llama',
      'Runtime           tok/s    ms/step   WC% Score Bottleneck Grd',
      '-'.repeat(62),
      'fast        *     6000       20.0   95%   100 compute  A+',
      'slow              1500       80.0   90%    75 launch   B',
    ]);
  });

  it('prints markdown with the best tok/s in bold and display names for bottlenecks', () => {
    const card = computeTrainingStepScorecard(runs, 'tiny-llama', grades, NOW);
    expect(formatTrainingStepMarkdown(card).split('\n')).toEqual([
      '## Training Step Scorecard — tiny-llama',
      '',
      '| Runtime | tok/s | ms/step | WC% | Score | Bottleneck | Grade |',
      '|---------|-------|---------|-----|-------|------------|-------|',
      '| fast | **6000** | 20.0 | 95% | 100 | compute | A+ |',
      '| slow | 1500 | 80.0 | 90% | 75 | launch | B |',
    ]);
  });
});
