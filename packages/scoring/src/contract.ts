import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { issuePath } from './load-test-result.js';

/** Version of the scoring contract, written into every scorecard (`contract_version`). */
export const CONTRACT_VERSION = '2.0.0';

/** The metrics the main scorecard can extract from a `LoadTestResult`. */
export const KNOWN_METRICS = [
  'decode_tok_s',
  'ttft_p50_ms',
  'itl_p50_ms',
  'ttft_p99_ms',
  'error_rate',
  'aggregate_tok_s',
  'throughput_scaling',
] as const;
export type MetricName = (typeof KNOWN_METRICS)[number];

/**
 * Where a metric scores 100 (`excellent`) and 75 (`good`). Between them the score is linear;
 * beyond `good` it falls off proportionally.
 */
export interface MetricThreshold {
  excellent: number;
  good: number;
  higher_is_better: boolean;
}

/**
 * What "good" means: thresholds per metric, the weights of the interactive (c=1) and throughput
 * (c>1) composites, the best-in-class bonus and the grade ladder. JSON/YAML field names are the
 * source's; `grades` is a list of `[min_score, label]` pairs, best first.
 */
export interface ScoringContract {
  thresholds: Record<string, MetricThreshold>;
  interactive_weights: Record<string, number>;
  throughput_weights: Record<string, number>;
  best_in_class_bonus: number;
  grades: Array<[number, string]>;
}

/** The source's default contract. */
export function defaultScoringContract(): ScoringContract {
  return {
    thresholds: {
      decode_tok_s: { excellent: 160, good: 120, higher_is_better: true },
      ttft_p50_ms: { excellent: 12, good: 50, higher_is_better: false },
      itl_p50_ms: { excellent: 6, good: 10, higher_is_better: false },
      ttft_p99_ms: { excellent: 15, good: 50, higher_is_better: false },
      error_rate: { excellent: 0, good: 0.01, higher_is_better: false },
      aggregate_tok_s: { excellent: 600, good: 300, higher_is_better: true },
      throughput_scaling: { excellent: 3.8, good: 2.0, higher_is_better: true },
    },
    interactive_weights: {
      decode_tok_s: 0.3,
      ttft_p50_ms: 0.3,
      itl_p50_ms: 0.15,
      ttft_p99_ms: 0.15,
      error_rate: 0.1,
    },
    throughput_weights: {
      aggregate_tok_s: 0.3,
      decode_tok_s: 0.15,
      ttft_p50_ms: 0.15,
      itl_p50_ms: 0.15,
      throughput_scaling: 0.15,
      error_rate: 0.1,
    },
    best_in_class_bonus: 5,
    grades: [
      [95, 'A+'],
      [90, 'A'],
      [85, 'A-'],
      [80, 'B+'],
      [70, 'B'],
      [60, 'C+'],
      [50, 'C'],
      [40, 'D'],
      [30, 'D-'],
      [0, 'F'],
    ],
  };
}

const metricName = z.enum(KNOWN_METRICS);
const weights = z.partialRecord(metricName, z.number().min(0).max(1));
const ContractSchema = z.object({
  thresholds: z.partialRecord(
    metricName,
    z.object({ excellent: z.number(), good: z.number(), higher_is_better: z.boolean() }),
  ),
  interactive_weights: weights,
  throughput_weights: weights,
  best_in_class_bonus: z.number().int().min(0).max(100),
  grades: z.array(z.tuple([z.number().min(0).max(100), z.string().min(1)])).min(1),
});

/** A contract file that cannot be read or breaks a rule; `path` names the field. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly code = 'CONTRACT_INVALID';
  readonly file: string;
  readonly path: string;

  constructor(message: string, file: string, path = '') {
    super(message);
    this.file = file;
    this.path = path;
  }
}

const WEIGHT_SUM_TOLERANCE = 1e-6;

/**
 * Checks a contract object: known metric names, a threshold for every weighted metric, each
 * weight set summing to 1, `excellent` better than `good`, grades strictly descending and ending
 * at 0.
 * @throws ContractError naming the file and the field
 */
export function validateScoringContract(value: unknown, file = '<contract>'): ScoringContract {
  const parsed = ContractSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issuePath(issue);
    throw new ContractError(`${file}: ${path || '(root)'}: ${issue.message}`, file, path);
  }
  const contract = parsed.data as ScoringContract;
  const fail = (path: string, message: string): never => {
    throw new ContractError(`${file}: ${path}: ${message}`, file, path);
  };
  for (const [name, t] of Object.entries(contract.thresholds)) {
    const ordered = t.higher_is_better ? t.excellent > t.good : t.excellent < t.good;
    if (!ordered) {
      fail(
        `thresholds.${name}`,
        `excellent (${t.excellent}) must be ${t.higher_is_better ? 'above' : 'below'} good (${t.good})`,
      );
    }
  }
  for (const set of ['interactive_weights', 'throughput_weights'] as const) {
    let sum = 0;
    for (const [name, weight] of Object.entries(contract[set])) {
      if (!contract.thresholds[name]) fail(`${set}.${name}`, 'has no threshold');
      sum += weight;
    }
    if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
      fail(set, `weights must sum to 1, got ${Number(sum.toFixed(9))}`);
    }
  }
  contract.grades.forEach(([min], i) => {
    const previous = contract.grades[i - 1];
    if (previous && !(min < previous[0])) {
      fail(`grades[${i}]`, `minimum ${min} must be below the previous grade's ${previous[0]}`);
    }
  });
  if (contract.grades.at(-1)![0] !== 0) {
    fail(`grades[${contract.grades.length - 1}]`, 'the last grade must start at 0');
  }
  return contract;
}

/**
 * Parses a contract from JSON or YAML text (YAML is a superset of JSON; the file name picks the
 * error wording only) and validates it.
 * @throws ContractError for unreadable text or a broken rule
 */
export function parseScoringContract(text: string, file = '<contract>'): ScoringContract {
  let value: unknown;
  try {
    value = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ContractError(`${file}: cannot parse: ${(error as Error).message}`, file);
  }
  return validateScoringContract(value, file);
}
