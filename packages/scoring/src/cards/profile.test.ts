import { describe, expect, it } from 'vitest';
import { defaultScoringContract } from '../contract.js';
import { makeTestResult, makeTestResultWithLayers } from '../test-fixtures.js';
import {
  computeProfileScorecard,
  formatProfileMarkdown,
  formatProfileTable,
  PromptCategory,
} from './profile.js';
import { NOW } from './testing.js';

const contract = defaultScoringContract();

describe('PromptCategory', () => {
  it('classifies by mean prompt tokens (test_prompt_category_classification)', () => {
    expect(PromptCategory.fromAvgPromptTokens(10)).toBe('Micro');
    expect(PromptCategory.fromAvgPromptTokens(23)).toBe('Short');
    expect(PromptCategory.fromAvgPromptTokens(102)).toBe('Medium');
    expect(PromptCategory.fromAvgPromptTokens(512)).toBe('Long');
  });

  it('puts each boundary in the larger profile and labels profiles in lower case', () => {
    const categories = [15, 64, 256].map(PromptCategory.fromAvgPromptTokens);
    expect(categories).toEqual(['Short', 'Medium', 'Long']);
    expect(categories.map(PromptCategory.label)).toEqual(['short', 'medium', 'long']);
  });
});

describe('computeProfileScorecard', () => {
  it('rates a runtime that scores the same under every profile 100 % consistent (test_profile_consistency_perfect)', () => {
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

  it('rates a runtime that degrades on longer prompts below 90 % (test_profile_consistency_degradation)', () => {
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
    // short: 0.3×94 + 0.3×98 + 0.15×94 + 0.15×96 + 0.1×100 = 96.1 → 96;
    // medium: 0.3×88 + 0.3×47 + 0.15×94 + 0.15×96 + 0.1×100 = 79; 79 / 96 = 82 %.
    expect(cs).toEqual({
      name: 'runtime_a',
      best_score: 96,
      worst_score: 79,
      consistency: 82,
      grade: 'B+',
    });
  });

  it('orders entries by runtime, then profile, and rates consistency only across two or more profiles', () => {
    const card = computeProfileScorecard(
      [
        [makeTestResultWithLayers('b', 150, 15, 240, 10200), 'b-medium.json'],
        [makeTestResultWithLayers('a', 150, 15, 240, 10200), 'a-medium.json'],
        [makeTestResultWithLayers('a', 150, 15, 240, 2300), 'a-short.json'],
      ],
      contract,
    );
    expect(card.entries.map((e) => `${e.name}/${e.profile}`)).toEqual([
      'a/Short',
      'a/Medium',
      'b/Medium',
    ]);
    expect(card.entries[0]).toMatchObject({ avg_prompt_tokens: 23, composite: 96, grade: 'A+' });
    expect(card.consistency.map((c) => c.name)).toEqual(['a']);
  });

  it('scores the last result of a runtime and profile', () => {
    const card = computeProfileScorecard(
      [
        [makeTestResultWithLayers('a', 100, 50, 240, 2300), 'first.json'],
        [makeTestResultWithLayers('a', 150, 15, 240, 2300), 'last.json'],
      ],
      contract,
    );
    expect(card.entries).toHaveLength(1);
    expect(card.entries[0]!.decode_tok_s).toBe(150);
  });

  it('uses the throughput weights when the first result ran at c>1, skipping throughput_scaling as the source does', () => {
    // aggregate 600 tok/s → 100; throughput_scaling has no value here, so its 0.15 adds nothing:
    // 0.3×100 + 0.15×94 + 0.15×98 + 0.15×94 + 0.1×100 = 82.9 → 83.
    const card = computeProfileScorecard(
      [[makeTestResult('t', 150, 15, 7, 20, 0, 4), 't-c4.json']],
      contract,
    );
    expect(card.concurrency).toBe(4);
    expect(card.entries[0]).toMatchObject({ profile: 'Short', composite: 83, grade: 'B+' });
  });

  it('serializes profiles with the source enum names', () => {
    const card = computeProfileScorecard(
      [[makeTestResultWithLayers('a', 150, 15, 240, 2300), 'a.json']],
      contract,
      NOW,
    );
    expect(JSON.stringify(card)).toBe(
      '{"timestamp":"2026-03-11T00:00:00.000Z","concurrency":1,"entries":[{"name":"a",' +
        '"profile":"Short","avg_prompt_tokens":23,"composite":96,"grade":"A+","decode_tok_s":150,' +
        '"ttft_p50_ms":15,"itl_p50_ms":7}],"consistency":[]}',
    );
  });
});

describe('profile renderers', () => {
  const card = computeProfileScorecard(
    [
      [makeTestResultWithLayers('a', 150, 15, 240, 2300), 'a-short.json'],
      [makeTestResultWithLayers('a', 140, 80, 240, 10200), 'a-medium.json'],
    ],
    contract,
    NOW,
  );

  it('prints the entries and the consistency table', () => {
    expect(formatProfileTable(card).split('\n')).toEqual([
      'Per-Prompt-Profile Scores',
      '',
      'Runtime               Profile   Tokens     Decode       TTFT      ITL      Score',
      '-'.repeat(82),
      'a                       short       23     150.0      15.0      7.0  96.0 A+',
      'a                      medium      102     140.0      80.0      7.0  79.0 B',
      '',
      'Profile Consistency (worst/best score across profiles)',
      'Runtime                  Best    Worst Consistency    Grade',
      '-'.repeat(58),
      'a                        96.0     79.0        82%       B+',
    ]);
  });

  it('prints markdown with the score in bold and a consistency section', () => {
    expect(formatProfileMarkdown(card).split('\n')).toEqual([
      '## Per-Prompt-Profile Scores',
      '',
      '| Runtime | Profile | Tokens | Decode tok/s | TTFT P50 ms | ITL P50 ms | **Score** |',
      '|---------|---------|--------|-------------|-------------|------------|-----------|',
      '| a | short | 23 | 150.0 | 15.0 | 7.0 | **96.0 (A+)** |',
      '| a | medium | 102 | 140.0 | 80.0 | 7.0 | **79.0 (B)** |',
      '',
      '### Profile Consistency',
      '',
      '| Runtime | Best | Worst | Consistency | Grade |',
      '|---------|------|-------|-------------|-------|',
      '| a | 96.0 | 79.0 | 82% | B+ |',
    ]);
  });

  it('leaves the consistency table out when no runtime has two profiles', () => {
    const single = computeProfileScorecard(
      [[makeTestResultWithLayers('a', 150, 15, 240, 2300), 'a.json']],
      contract,
    );
    expect(formatProfileTable(single)).not.toContain('Profile Consistency');
    expect(formatProfileMarkdown(single)).not.toContain('### Profile Consistency');
  });
});
