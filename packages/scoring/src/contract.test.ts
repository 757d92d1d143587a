import { describe, expect, it } from 'vitest';
import {
  ContractError,
  defaultScoringContract,
  parseScoringContract,
  validateScoringContract,
} from './contract.js';

describe('ScoringContract', () => {
  it('round-trips the default contract through JSON and YAML', () => {
    const contract = defaultScoringContract();
    expect(parseScoringContract(JSON.stringify(contract), 'c.json')).toEqual(contract);
    const yaml = [
      'thresholds:',
      '  decode_tok_s: { excellent: 200, good: 100, higher_is_better: true }',
      'interactive_weights: { decode_tok_s: 1.0 }',
      'throughput_weights: { decode_tok_s: 1.0 }',
      'best_in_class_bonus: 0',
      'grades: [[50, pass], [0, fail]]',
    ].join('\n');
    expect(parseScoringContract(yaml, 'c.yaml').thresholds.decode_tok_s?.excellent).toBe(200);
  });

  it('rejects weights that do not sum to 1', () => {
    const contract = defaultScoringContract();
    contract.interactive_weights.decode_tok_s = 0.5;
    expect(() => validateScoringContract(contract, 'c.json')).toThrow(
      'c.json: interactive_weights: weights must sum to 1, got 1.2',
    );
  });

  it('rejects an unknown metric, naming its path', () => {
    const contract = defaultScoringContract() as unknown as Record<string, Record<string, unknown>>;
    contract.throughput_weights!.vibes = 0;
    expect(() => validateScoringContract(contract, 'c.json')).toThrow(
      expect.objectContaining({ path: 'throughput_weights.vibes' }),
    );
  });

  it('rejects a weighted metric without a threshold and inverted thresholds', () => {
    const noThreshold = defaultScoringContract();
    delete noThreshold.thresholds.error_rate;
    expect(() => validateScoringContract(noThreshold)).toThrow(
      'interactive_weights.error_rate: has no threshold',
    );
    const inverted = defaultScoringContract();
    inverted.thresholds.ttft_p50_ms = { excellent: 60, good: 50, higher_is_better: false };
    expect(() => validateScoringContract(inverted)).toThrow(ContractError);
  });

  it('rejects grades that are not strictly descending or do not end at 0', () => {
    const contract = defaultScoringContract();
    contract.grades = [
      [90, 'A'],
      [95, 'A+'],
      [0, 'F'],
    ];
    expect(() => validateScoringContract(contract)).toThrow('grades[1]');
    contract.grades = [[50, 'pass']];
    expect(() => validateScoringContract(contract)).toThrow('the last grade must start at 0');
  });

  it('names the file when the text cannot be parsed', () => {
    expect(() => parseScoringContract('{', 'c.json')).toThrow(/^c\.json: cannot parse/);
  });
});
