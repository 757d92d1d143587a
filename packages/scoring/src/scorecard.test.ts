import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from './contract.js';
import type { LoadTestResult, TailAnalysis } from './load-test-result.js';
import {
  computeScorecard,
  formatMarkdown,
  formatTable,
  type ScoredResult,
  stripConcurrencySuffix,
} from './scorecard.js';
import { makeTestResult } from './test-fixtures.js';

const NOW = new Date('2026-03-11T00:00:00Z');
const a = makeTestResult('runtime_a', 150, 15, 7, 20, 0, 1);
const b = makeTestResult('runtime_b', 130, 30, 8, 40, 0, 1);

function withTail(result: LoadTestResult, itlCv: number, spikes: number): LoadTestResult {
  const tail: TailAnalysis = {
    itl_p999_ms: 7,
    itl_p9999_ms: 7,
    ttft_p999_ms: 15,
    ttft_p9999_ms: 15,
    latency_p999_ms: 250,
    latency_p9999_ms: 250,
    tail_ratio_itl: 1,
    tail_ratio_ttft: 1,
    tail_ratio_latency: 1,
    jitter: {
      itl_cv: itlCv,
      itl_iqr_ms: 0.1,
      spike_count: spikes,
      spike_threshold_ms: 35,
      spikes: [],
    },
    drift: { itl_slope_ms_per_min: 0, ttft_slope_ms_per_min: 0, degradation_detected: false },
  };
  return { ...result, tail_analysis: tail };
}

describe('computeScorecard', () => {
  it('scores an interactive card: thresholds, best-in-class bonus, composite, grade, order', () => {
    const card = computeScorecard(
      [
        [b, 'b.json'],
        [a, 'a.json'],
      ],
      undefined,
      defaultScoringContract(),
      NOW,
    );
    expect(card).toMatchObject({ contract_version: '2.0.0', concurrency: 1 });
    expect(card.timestamp).toBe('2026-03-11T00:00:00.000Z');
    const [first, second] = card.runtimes;
    // runtime_a: decode 94, TTFT 98, ITL 94, TTFT p99 96, errors 100, each +5 as best (cap 100).
    expect(first).toMatchObject({ name: 'runtime_a', source_file: 'a.json', composite: 100 });
    expect(first!.grade).toBe('A+');
    expect(first!.metrics.decode_tok_s).toEqual({ value: 150, score: 99, best: true });
    expect(first!.metrics.ttft_p99_ms).toEqual({ value: 20, score: 100, best: true });
    // runtime_b: decode 81, TTFT 88, ITL 88, TTFT p99 82, errors 100 (tie: the first row wins).
    expect(second).toMatchObject({ name: 'runtime_b', composite: 86, grade: 'A-' });
    expect(second!.metrics.error_rate).toEqual({ value: 0, score: 100, best: true });
    expect(first!.metrics.error_rate!.best).toBe(false);
    expect(second!.metrics.itl_p50_ms!.score).toBe(88);
  });

  it('takes the jitter penalty off ITL and reports it', () => {
    const card = computeScorecard([[withTail(a, 0.01, 0), 'a.json']], undefined, undefined, NOW);
    // ITL 94 − penalty 1 + bonus 5 = 98.
    expect(card.runtimes[0]!.metrics.itl_p50_ms).toEqual({
      value: 7,
      score: 98,
      best: true,
      jitter_penalty: 1,
    });
  });

  it('scores throughput scaling against the c=1 baseline of the same runtime', () => {
    const c1: ScoredResult[] = [[makeTestResult('foo', 150, 15, 7, 20, 0, 1), 'foo-c1.json']];
    const c8: ScoredResult[] = [
      [makeTestResult('foo-c8', 120, 40, 9, 80, 0, 8), 'foo-c8.json'],
      [makeTestResult('bar-c8', 100, 40, 9, 80, 0, 8), 'bar-c8.json'],
    ];
    const card = computeScorecard(c8, c1, defaultScoringContract(), NOW);
    expect(card.concurrency).toBe(8);
    const foo = card.runtimes.find((r) => r.name === 'foo-c8')!;
    // aggregate 120 × 8 = 960 tok/s; 960 / 150 = 6.4 ≥ 3.8 (excellent).
    expect(foo.metrics.aggregate_tok_s).toMatchObject({ value: 960, score: 100 });
    expect(foo.metrics.throughput_scaling).toEqual({ value: 6.4, score: 100, best: true });
    const bar = card.runtimes.find((r) => r.name === 'bar-c8')!;
    expect(bar.metrics.throughput_scaling).toBeUndefined();
  });

  it('test_score_independence_from_field', () => {
    const contract = defaultScoringContract();
    const c = makeTestResult('runtime_c', 100, 60, 12, 80, 0.01, 1);
    const withC = computeScorecard(
      [
        [a, 'a.json'],
        [b, 'b.json'],
        [c, 'c.json'],
      ],
      undefined,
      contract,
    );
    const withoutC = computeScorecard(
      [
        [a, 'a.json'],
        [b, 'b.json'],
      ],
      undefined,
      contract,
    );
    const score = (card: typeof withC) =>
      card.runtimes.find((r) => r.name === 'runtime_a')!.composite;
    expect(Math.abs(score(withC) - score(withoutC))).toBeLessThanOrEqual(
      contract.best_in_class_bonus,
    );
  });

  it('writes the source JSON field names and omits an absent jitter penalty', () => {
    const card = computeScorecard([[a, 'a.json']], undefined, undefined, NOW);
    const json = JSON.parse(JSON.stringify(card)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['contract_version', 'timestamp', 'concurrency', 'runtimes']);
    const runtime = (json.runtimes as Array<Record<string, unknown>>)[0]!;
    expect(Object.keys(runtime)).toEqual(['name', 'source_file', 'metrics', 'composite', 'grade']);
    expect(Object.keys((runtime.metrics as Record<string, object>).itl_p50_ms!)).toEqual([
      'value',
      'score',
      'best',
    ]);
  });
});

describe('stripConcurrencySuffix', () => {
  it('strips only a trailing -c followed by digits', () => {
    expect(stripConcurrencySuffix('llama-cpp-c16')).toBe('llama-cpp');
    expect(stripConcurrencySuffix('model-cx')).toBe('model-cx');
    expect(stripConcurrencySuffix('abc-c')).toBe('abc-c');
    expect(stripConcurrencySuffix('vllm')).toBe('vllm');
  });
});

describe('renderers', () => {
  const card = computeScorecard(
    [
      [a, 'a.json'],
      [b, 'b.json'],
    ],
    undefined,
    undefined,
    NOW,
  );

  it('renders the interactive text table with stars on the best', () => {
    const lines = formatTable(card).split('\n');
    expect(lines[0]).toBe('Inference Runtime Scorecard — Interactive (c=1)');
    expect(lines[2]).toBe('Runtime        Decode     TTFT      ITL     Tail    Error  Composite');
    expect(lines[4]).toBe('-'.repeat(74));
    expect(lines[5]).toBe('runtime_a         99*     100*      99*     100*     100* 100.0 A+');
    expect(lines[6]).toBe('runtime_b         81       88       88       82      100   86.0 A-');
    expect(lines.at(-1)).toBe('* = best in class');
  });

  it('renders markdown with the best in bold', () => {
    const lines = formatMarkdown(card).split('\n');
    expect(lines[0]).toBe('## Scorecard — Interactive (c=1)');
    expect(lines[4]).toBe(
      '| runtime_a |  **99** |  **100** |  **99** |  **100** |  **100** | **100.0 (A+)** |',
    );
  });
});
