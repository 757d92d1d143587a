import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import type { GpuTelemetry, LoadTestResult } from '../load-test-result.js';
import { makeTestResult, makeTestResultWithLayers } from '../test-fixtures.js';
import {
  classifyBottleneck,
  computeColdStartScorecard,
  computeConcurrencyScalingScorecard,
  computeCorrectnessScorecard,
  computeLayerScorecard,
  computeMemoryScorecard,
  computeOutputLengthScorecard,
  computePowerEfficiencyScorecard,
  computeProfileScorecard,
  computeTrainingStepScorecard,
  formatColdStartMarkdown,
  formatColdStartTable,
  formatCorrectnessTable,
  formatLayerMarkdown,
  formatLayerTable,
  formatMemoryTable,
  formatOutputLengthTable,
  formatPowerTable,
  formatProfileMarkdown,
  formatProfileTable,
  formatScalingMarkdown,
  formatScalingTable,
  formatTrainingStepMarkdown,
  formatTrainingStepTable,
  outputLengthCategory,
  promptCategory,
} from './index.js';

// Ported from the source's unit tests (names kept), with their exact expectations, plus renderer
// and edge checks.
const contract = defaultScoringContract();
const { grades } = contract;
const NOW = new Date('2026-03-11T00:00:00Z');

function telemetry(): GpuTelemetry {
  const stat = (mean: number, max: number, min: number) => ({ mean, max, min });
  return {
    samples: 10,
    gpu_utilization_pct: stat(80, 95, 60),
    memory_used_mb: stat(3200, 3500, 3000),
    memory_total_mb: 8192,
    power_draw_w: stat(80, 100, 60),
    temperature_c: stat(70, 80, 50),
    clock_gpu_mhz: stat(1500, 1500, 1500),
    throttle_events: 0,
    energy_total_wh: 1,
    energy_per_token_mj: 5,
    energy_per_request_mj: 160,
  };
}

function withQuality(passed: number, passRate: number): LoadTestResult {
  const r = makeTestResult('runtime_a', 150, 15, 7, 20, 0, 1);
  r.quality = {
    validation_level: 'basic',
    total_validated: 100,
    passed,
    failed: 100 - passed,
    pass_rate: passRate,
    failures: [],
  };
  return r;
}

describe('layer scorecard', () => {
  it('test_layer_scoring_best_first', () => {
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

  it('test_layer_scoring_excellent_threshold', () => {
    const card = computeLayerScorecard(
      [[makeTestResultWithLayers('vllm', 160, 12, 220, 2300), 'a.json']],
      grades,
    );
    expect(card.runtimes[0]!.score).toBe(100);
  });

  it('leaves out results without per-layer timing and renders the table and markdown', () => {
    const card = computeLayerScorecard(
      [
        [makeTestResultWithLayers('slow', 100, 50, 350, 2300), 'b.json'],
        [makeTestResult('none', 100, 50, 7, 20, 0, 1), 'c.json'],
        [makeTestResultWithLayers('fast', 160, 12, 220, 2300), 'a.json'],
      ],
      grades,
      NOW,
    );
    expect(card.runtimes.map((r) => [r.name, r.score, r.grade])).toEqual([
      ['fast', 100, 'A+'],
      ['slow', 64, 'C+'], // 75 × 300 / 350 = 64.3
    ]);
    const table = formatLayerTable(card).split('\n');
    expect(table[4]).toBe(`${'fast'.padEnd(20)}       220.0*       28      100       A+`);
    expect(table.at(-1)).toBe('Thresholds: excellent <= 220us, good <= 300us');
    expect(formatLayerMarkdown(card).split('\n')[4]).toBe('| fast |  **220.0** | 28 | 100 | A+ |');
  });
});

describe('prompt profile scorecard', () => {
  it('test_prompt_category_classification', () => {
    expect(promptCategory(10)).toBe('micro');
    expect(promptCategory(23)).toBe('short');
    expect(promptCategory(102)).toBe('medium');
    expect(promptCategory(512)).toBe('long');
  });

  it('test_profile_consistency_perfect', () => {
    const short = makeTestResultWithLayers('runtime_a', 150, 15, 240, 2300);
    const medium = makeTestResultWithLayers('runtime_a', 150, 15, 240, 10200);
    const card = computeProfileScorecard(
      [
        [short, 'short.json'],
        [medium, 'medium.json'],
      ],
      contract,
    );
    expect(card.entries.length).toBeGreaterThanOrEqual(2);
    expect(card.consistency[0]!.consistency).toBe(100);
  });

  it('test_profile_consistency_degradation', () => {
    const short = makeTestResultWithLayers('runtime_a', 150, 15, 240, 2300);
    const medium = makeTestResultWithLayers('runtime_a', 140, 80, 240, 10200);
    const card = computeProfileScorecard(
      [
        [short, 'short.json'],
        [medium, 'medium.json'],
      ],
      contract,
    );
    const cs = card.consistency[0]!;
    expect(cs.consistency).toBeLessThan(90);
    expect(cs.worst_score).toBeLessThan(cs.best_score);
  });

  it('orders entries by runtime then profile and renders both tables', () => {
    const card = computeProfileScorecard(
      [
        [makeTestResultWithLayers('b', 150, 15, 240, 10200), 'b-medium.json'],
        [makeTestResultWithLayers('a', 150, 15, 240, 10200), 'a-medium.json'],
        [makeTestResultWithLayers('a', 150, 15, 240, 2300), 'a-short.json'],
      ],
      contract,
      NOW,
    );
    expect(card.entries.map((e) => `${e.name}/${e.profile}`)).toEqual([
      'a/short',
      'a/medium',
      'b/medium',
    ]);
    // decode 94, TTFT 98, ITL 94, TTFT p99 (20 ms) 96, errors 100 → 95.95 → 96, no bonus.
    expect(card.entries[0]).toMatchObject({ avg_prompt_tokens: 23, composite: 96, grade: 'A+' });
    const table = formatProfileTable(card);
    expect(table).toContain('Profile Consistency (worst/best score across profiles)');
    expect(table.split('\n')[4]).toBe(
      `${'a'.padEnd(20)}    short       23     150.0      15.0      7.0  96.0 A+`,
    );
    expect(formatProfileMarkdown(card)).toContain(
      '| a | short | 23 | 150.0 | 15.0 | 7.0 | **96.0 (A+)** |',
    );
  });
});

describe('correctness scorecard', () => {
  it('test_correctness_scoring', () => {
    const card = computeCorrectnessScorecard([[withQuality(100, 1), 'a.json']], grades);
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.score).toBe(100);
  });

  it('test_correctness_partial', () => {
    const card = computeCorrectnessScorecard([[withQuality(90, 0.9), 'a.json']], grades);
    expect(card.runtimes[0]!.score).toBeLessThan(75);
    expect(formatCorrectnessTable(card).split('\n')[4]).toBe(
      `${'runtime_a'.padEnd(24)}      90.0%*       90      100       71        B`,
    );
  });
});

describe('output length scorecard', () => {
  it('test_output_length_classification', () => {
    expect(outputLengthCategory(10)).toBe('short');
    expect(outputLengthCategory(32)).toBe('medium');
    expect(outputLengthCategory(128)).toBe('medium');
    expect(outputLengthCategory(200)).toBe('long');
  });

  it('buckets request details and scores each bucket by its mean ITL', () => {
    const r = makeTestResult('runtime_a', 150, 15, 7, 20, 0, 1);
    r.request_details = [
      { completion_tokens: 200, itl_ms: 10 },
      { completion_tokens: 10, itl_ms: 6 },
      { completion_tokens: 20, itl_ms: 8 },
    ];
    const card = computeOutputLengthScorecard(
      [
        [r, 'a.json'],
        [makeTestResult('empty', 1, 1, 1, 1, 0, 1), 'e.json'],
      ],
      contract,
      NOW,
    );
    expect(card.entries).toEqual([
      expect.objectContaining({
        category: 'short',
        request_count: 2,
        avg_output_tokens: 15,
        itl_p50_ms: 7,
        decode_tok_s: 1000 / 7,
        score: 94,
      }),
      expect.objectContaining({ category: 'long', request_count: 1, itl_p50_ms: 10, score: 75 }),
    ]);
    expect(formatOutputLengthTable(card).split('\n')[4]).toBe(
      `${'runtime_a'.padEnd(24)}    short        2     15.0     142.9      7.0    94 A`,
    );
  });
});

describe('memory scorecard', () => {
  it('test_memory_scoring', () => {
    const r = makeTestResult('runtime_a', 140, 15, 7, 20, 0, 1);
    r.gpu_telemetry = telemetry();
    const card = computeMemoryScorecard([[r, 'a.json']], grades);
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.score).toBeGreaterThanOrEqual(95);
    // 140 tok/s over 3500 MB = 3.418 GiB → 40.96 tok/s/GB.
    expect(formatMemoryTable(card).split('\n')[4]).toBe(
      `${'runtime_a'.padEnd(24)}       3500       8192        41.0*      100       A+`,
    );
  });
});

describe('cold start scorecard', () => {
  it('test_cold_start_scoring', () => {
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
    expect(card.runtimes[1]!.score).toBe(15); // 75 × 3000 / 15000
    expect(formatColdStartTable(card)).toContain('Thresholds: excellent <= 500ms, good <= 3000ms');
    expect(formatColdStartTable(card).split('\n')[4]).toBe(
      `${'realizr'.padEnd(24)}         300*      100       A+`,
    );
    expect(formatColdStartMarkdown(card).split('\n')[5]).toBe('| vllm | 15000 | 15 | F |');
  });
});

describe('power efficiency scorecard', () => {
  it('test_power_efficiency_scoring', () => {
    const r = makeTestResult('runtime_a', 140, 15, 7, 20, 0, 1);
    r.gpu_telemetry = telemetry();
    const card = computePowerEfficiencyScorecard([[r, 'a.json']], grades);
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.score).toBeGreaterThanOrEqual(75);
    // 140 / 80 W = 1.75 tok/s/W: 75 + 25 × 0.25 / 1.5 = 79.2 → 79.
    expect(formatPowerTable(card).split('\n')[4]).toBe(
      `${'runtime_a'.padEnd(24)}       80.0          5.0      1.75*       79        B`,
    );
  });
});

describe('concurrency scaling scorecard', () => {
  it('test_concurrency_scaling', () => {
    const c1 = makeTestResult('runtime_a-c1', 150, 15, 7, 20, 0, 1);
    const c4 = makeTestResult('runtime_a-c4', 140, 30, 8, 40, 0, 4);
    c4.tokens_per_sec = 540;
    const card = computeConcurrencyScalingScorecard(
      [
        [c1, 'c1.json'],
        [c4, 'c4.json'],
      ],
      grades,
      NOW,
    );
    expect(card.runtimes).toHaveLength(1);
    expect(card.runtimes[0]!.scaling_efficiency).toBeGreaterThan(0.85);
    expect(card.runtimes[0]!.score).toBeGreaterThanOrEqual(90);
    expect(card.runtimes[0]).toMatchObject({
      name: 'runtime_a',
      c1_decode_tok_s: 150,
      peak_aggregate_tok_s: 540,
      peak_concurrency: 4,
    });
    const table = formatScalingTable(card);
    expect(table).toContain('Thresholds: excellent >= 90%, good >= 50%');
    expect(table.split('\n')[4]).toBe(
      `${'runtime_a'.padEnd(24)}      150.0        540.0        4        90.0%*      100       A+`,
    );
    expect(formatScalingMarkdown(card)).toContain(
      '| runtime_a | 150.0 | 540.0 | 4 | 90.0% | 100 | A+ |',
    );
  });

  it('skips a runtime seen at one concurrency or without a c=1 run', () => {
    const onlyC4 = makeTestResult('x-c4', 140, 30, 8, 40, 0, 4);
    const alsoC8 = makeTestResult('x-c8', 140, 30, 8, 40, 0, 8);
    const card = computeConcurrencyScalingScorecard(
      [
        [onlyC4, 'a.json'],
        [alsoC8, 'b.json'],
        [makeTestResult('y', 100, 20, 8, 30, 0, 1), 'y.json'],
      ],
      grades,
    );
    expect(card.runtimes).toEqual([]);
  });
});

describe('training step scorecard', () => {
  it('classifies the bottleneck by the source rule', () => {
    expect(classifyBottleneck(50, 31, 90)).toBe('transfer');
    expect(classifyBottleneck(19, 10, 90)).toBe('launch');
    expect(classifyBottleneck(50, 10, 51)).toBe('compute');
    expect(classifyBottleneck(50, 10, 50)).toBe('memory_bw');
  });

  it('ranks runtimes by training tok/s', () => {
    const card = computeTrainingStepScorecard(
      [
        {
          name: 'slow',
          tokensPerSec: 1500,
          wallCoverage: 0.9,
          bottleneck: 'launch',
          hotspotLayers: 2,
          msPerStep: 80,
        },
        {
          name: 'fast',
          tokensPerSec: 6000,
          wallCoverage: 0.95,
          bottleneck: 'compute',
          hotspotLayers: 1,
          msPerStep: 20,
        },
      ],
      'tiny-llama',
      grades,
      NOW,
    );
    expect(card.runtimes.map((r) => [r.name, r.score, r.best])).toEqual([
      ['fast', 100, true],
      ['slow', 75, false],
    ]);
    const table = formatTrainingStepTable(card).split('\n');
    expect(table[0]).toBe('Training Step Scorecard — tiny-llama');
    expect(table[3]).toBe('fast        *     6000       20.0   95%   100    compute  A+');
    expect(formatTrainingStepMarkdown(card).split('\n')[4]).toBe(
      '| fast | **6000** | 20.0 | 95% | 100 | compute | A+ |',
    );
  });
});
