import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import type { LoadTestResult } from '../load-test-result.js';
import { makeTestResult } from '../test-fixtures.js';
import {
  computeOutputLengthScorecard,
  formatOutputLengthMarkdown,
  formatOutputLengthTable,
  OutputLengthCategory,
} from './output-length.js';
import { NOW } from './testing.js';

const contract = defaultScoringContract();

/** Two short requests (10 and 20 tokens, ITL 6 and 8 ms) and one long one (200 tokens, 10 ms). */
function withDetails(name = 'runtime_a'): LoadTestResult {
  const r = makeTestResult(name, 150, 15, 7, 20, 0, 1);
  r.request_details = [
    { completion_tokens: 200, itl_ms: 10 },
    { completion_tokens: 10, itl_ms: 6 },
    { completion_tokens: 20, itl_ms: 8 },
  ];
  return r;
}

describe('OutputLengthCategory', () => {
  it('buckets completions: < 32 short, ≤ 128 medium, else long (test_output_length_classification)', () => {
    expect(OutputLengthCategory.fromTokens(10)).toBe('Short');
    expect(OutputLengthCategory.fromTokens(32)).toBe('Medium');
    expect(OutputLengthCategory.fromTokens(128)).toBe('Medium');
    expect(OutputLengthCategory.fromTokens(200)).toBe('Long');
  });

  it('labels buckets in lower case', () => {
    expect(
      ['Short', 'Medium', 'Long'].map((c) => OutputLengthCategory.label(c as OutputLengthCategory)),
    ).toEqual(['short', 'medium', 'long']);
  });
});

describe('computeOutputLengthScorecard', () => {
  it("scores each bucket's mean ITL against the contract's itl_p50_ms threshold", () => {
    const card = computeOutputLengthScorecard([[withDetails(), 'a.json']], contract);
    expect(card.entries).toEqual([
      {
        name: 'runtime_a',
        category: 'Short',
        request_count: 2,
        avg_output_tokens: 15,
        decode_tok_s: 1000 / 7,
        itl_p50_ms: 7,
        score: 94, // 75 + 25 × (10 − 7) / (10 − 6) = 93.75
        grade: 'A',
      },
      {
        name: 'runtime_a',
        category: 'Long',
        request_count: 1,
        avg_output_tokens: 200,
        decode_tok_s: 100,
        itl_p50_ms: 10,
        score: 75,
        grade: 'B',
      },
    ]);
  });

  it('orders entries by runtime name, then bucket, and leaves out runs without request details', () => {
    const card = computeOutputLengthScorecard(
      [
        [withDetails('b'), 'b.json'],
        [makeTestResult('empty', 150, 15, 7, 20, 0, 1), 'e.json'],
        [withDetails('a'), 'a.json'],
      ],
      contract,
    );
    expect(card.entries.map((e) => `${e.name}/${e.category}`)).toEqual([
      'a/Short',
      'a/Long',
      'b/Short',
      'b/Long',
    ]);
  });

  it('falls back to 6 ms / 10 ms when the contract has no itl_p50_ms threshold', () => {
    const strict = defaultScoringContract();
    strict.thresholds.itl_p50_ms = { excellent: 7, good: 8, higher_is_better: false };
    expect(
      computeOutputLengthScorecard([[withDetails(), 'a.json']], strict).entries[0]!.score,
    ).toBe(100);
    const none = defaultScoringContract();
    delete none.thresholds.itl_p50_ms;
    expect(computeOutputLengthScorecard([[withDetails(), 'a.json']], none).entries[0]!.score).toBe(
      94,
    );
  });

  it('reports 0 tok/s for a bucket whose mean ITL is 0', () => {
    const r = makeTestResult('instant', 150, 15, 7, 20, 0, 1);
    r.request_details = [{ completion_tokens: 1, itl_ms: 0 }];
    expect(computeOutputLengthScorecard([[r, 'a.json']], contract).entries[0]).toMatchObject({
      decode_tok_s: 0,
      score: 100,
    });
  });

  it('serializes buckets with the source enum names', () => {
    const r = makeTestResult('a', 150, 15, 7, 20, 0, 1);
    r.request_details = [{ completion_tokens: 100, itl_ms: 8 }];
    expect(JSON.stringify(computeOutputLengthScorecard([[r, 'a.json']], contract, NOW))).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","entries":[{"name":"a","category":"Medium",' +
        '"request_count":1,"avg_output_tokens":100,"decode_tok_s":125,"itl_p50_ms":8,"score":88,' +
        '"grade":"A-"}]}',
    );
  });
});

describe('output-length renderers', () => {
  const card = computeOutputLengthScorecard([[withDetails(), 'a.json']], contract, NOW);

  it('prints a row per runtime and bucket', () => {
    expect(formatOutputLengthTable(card).split('\n')).toEqual([
      'Per-Output-Length Scores',
      '',
      'Runtime                    Output    Count   AvgTok     Decode      ITL    Score',
      '-'.repeat(80),
      'runtime_a                   short        2     15.0     142.9      7.0    94 A',
      'runtime_a                    long        1    200.0     100.0     10.0    75 B',
    ]);
  });

  it('prints markdown rows', () => {
    expect(formatOutputLengthMarkdown(card).split('\n')).toEqual([
      '## Per-Output-Length Scores',
      '',
      '| Runtime | Output | Count | Avg Tokens | Decode tok/s | ITL ms | Score | Grade |',
      '|---------|--------|-------|------------|-------------|--------|-------|-------|',
      '| runtime_a | short | 2 | 15.0 | 142.9 | 7.0 | 94 | A |',
      '| runtime_a | long | 1 | 200.0 | 100.0 | 10.0 | 75 | B |',
    ]);
  });
});
