import { CONTRACT_VERSION, defaultScoringContract, type ScoringContract } from './contract.js';
import type { LoadTestResult, TailAnalysis } from './load-test-result.js';
import { assignGrade, computeJitterPenalty, computeMetricScore } from './metric-score.js';

/** One result file: the record and the path it was read from (`source_file` in scorecards). */
export type ScoredResult = readonly [result: LoadTestResult, sourceFile: string];

/** A metric's value and score in one runtime's row. */
export interface MetricScore {
  value: number;
  /** 0–100, after the jitter penalty and the best-in-class bonus. */
  score: number;
  /** Whether this runtime had the best value of the metric. */
  best: boolean;
  /** Points taken off for jitter (ITL only, when the result has a tail analysis). */
  jitter_penalty?: number;
}

/** One runtime's row of a scorecard. */
export interface RuntimeScore {
  name: string;
  source_file: string;
  metrics: Record<string, MetricScore>;
  /** Weighted sum of the metric scores, rounded, at most 100. */
  composite: number;
  grade: string;
}

/** The main scorecard: interactive (c=1) or throughput (c>1). JSON field names are the source's. */
export interface Scorecard {
  contract_version: string;
  /** RFC 3339 time the card was computed. */
  timestamp: string;
  concurrency: number;
  /** Best composite first. */
  runtimes: RuntimeScore[];
}

/**
 * A runtime name without a trailing `-cN` concurrency suffix (`llama-cpp-c16` → `llama-cpp`), so
 * c>1 results find their c=1 baseline. Only a non-empty run of ASCII digits after the last `-c`
 * counts as a suffix.
 */
export function stripConcurrencySuffix(name: string): string {
  const pos = name.lastIndexOf('-c');
  if (pos >= 0 && /^[0-9]+$/.test(name.slice(pos + 2))) return name.slice(0, pos);
  return name;
}

function extractMetrics(result: LoadTestResult, isThroughput: boolean): Map<string, number> {
  const metrics = new Map<string, number>([
    ['decode_tok_s', result.decode_tok_per_sec],
    ['ttft_p50_ms', result.ttft_p50_ms],
    ['itl_p50_ms', result.itl_p50_ms],
    ['ttft_p99_ms', result.ttft_p99_ms],
    ['error_rate', result.error_rate],
  ]);
  if (isThroughput) metrics.set('aggregate_tok_s', result.tokens_per_sec);
  return metrics;
}

/**
 * Scores runtimes against a contract. The scenario comes from the first result's concurrency:
 * interactive weights at c=1, throughput weights above. At c>1, `throughput_scaling` is a
 * runtime's aggregate tok/s over its c=1 decode tok/s, found in `c1Results` by name (with `-cN`
 * stripped). Each metric scores 0–100 ({@link computeMetricScore}); ITL loses the jitter penalty
 * when a tail analysis exists; the best runtime per metric (first on ties) gains the contract's
 * bonus, capped at 100; the composite is the weighted sum, rounded.
 *
 * @param results results of one concurrency, with their file names
 * @param c1Results c=1 results, the baselines of `throughput_scaling`
 * @param contract thresholds, weights, bonus and grades (default: the source's)
 * @param now the card's timestamp (default: the current time)
 */
export function computeScorecard(
  results: readonly ScoredResult[],
  c1Results: readonly ScoredResult[] | undefined = undefined,
  contract: ScoringContract = defaultScoringContract(),
  now: Date = new Date(),
): Scorecard {
  const concurrency = results[0]?.[0].concurrency ?? 1;
  const isThroughput = concurrency > 1;
  const weights = isThroughput ? contract.throughput_weights : contract.interactive_weights;
  const c1Decode = new Map<string, number>();
  for (const [r] of c1Results ?? []) {
    c1Decode.set(stripConcurrencySuffix(r.runtime_name), r.decode_tok_per_sec);
  }

  const rows: Array<{
    name: string;
    sourceFile: string;
    metrics: Map<string, number>;
    tail: TailAnalysis | null | undefined;
  }> = results.map(([result, sourceFile]) => {
    const metrics = extractMetrics(result, isThroughput);
    if (isThroughput) {
      const baseline = c1Decode.get(stripConcurrencySuffix(result.runtime_name));
      if (baseline !== undefined && baseline > 0) {
        metrics.set('throughput_scaling', result.tokens_per_sec / baseline);
      }
    }
    return { name: result.runtime_name, sourceFile, metrics, tail: result.tail_analysis };
  });

  const bestPerMetric = new Map<string, { value: number; index: number }>();
  rows.forEach(({ metrics }, index) => {
    for (const [metric, value] of metrics) {
      const threshold = contract.thresholds[metric];
      if (!threshold) continue;
      const best = bestPerMetric.get(metric);
      const isBetter =
        best === undefined ||
        (threshold.higher_is_better ? value > best.value : value < best.value);
      if (isBetter) bestPerMetric.set(metric, { value, index });
    }
  });

  const runtimes = rows.map(({ name, sourceFile, metrics, tail }, index): RuntimeScore => {
    const scores: Record<string, MetricScore> = {};
    let weightedSum = 0;
    for (const [metric, weight] of Object.entries(weights)) {
      const value = metrics.get(metric);
      const threshold = contract.thresholds[metric];
      if (value === undefined || !threshold) continue;
      let score = computeMetricScore(value, threshold);
      let jitterPenalty: number | undefined;
      if (metric === 'itl_p50_ms' && tail) {
        jitterPenalty = computeJitterPenalty(tail);
        score = Math.max(0, score - jitterPenalty);
      }
      const best = bestPerMetric.get(metric)?.index === index;
      if (best) score = Math.min(100, score + contract.best_in_class_bonus);
      weightedSum += weight * score;
      scores[metric] = {
        value,
        score,
        best,
        ...(jitterPenalty === undefined ? {} : { jitter_penalty: jitterPenalty }),
      };
    }
    const composite = Math.min(Math.round(weightedSum), 100);
    return {
      name,
      source_file: sourceFile,
      metrics: scores,
      composite,
      grade: assignGrade(composite, contract.grades),
    };
  });
  // Array.prototype.sort is stable, like Rust's sort_by.
  runtimes.sort((a, b) => b.composite - a.composite);

  return {
    contract_version: CONTRACT_VERSION,
    timestamp: now.toISOString(),
    concurrency,
    runtimes,
  };
}

function scenario(card: Scorecard): string {
  return card.concurrency === 1 ? 'Interactive (c=1)' : `Throughput (c=${card.concurrency})`;
}

function tableCell(metric: MetricScore | undefined): string {
  return metric ? `${String(metric.score).padStart(3)}${metric.best ? '*' : ' '}` : ' -';
}

const INTERACTIVE_COLUMNS = [
  'decode_tok_s',
  'ttft_p50_ms',
  'itl_p50_ms',
  'ttft_p99_ms',
  'error_rate',
];
const THROUGHPUT_COLUMNS = [
  'aggregate_tok_s',
  'decode_tok_s',
  'ttft_p50_ms',
  'itl_p50_ms',
  'throughput_scaling',
  'error_rate',
];

/** The scorecard as the source's fixed-width text table; `*` marks the best in class. */
export function formatTable(card: Scorecard): string {
  const interactive = card.concurrency === 1;
  const columns = interactive ? INTERACTIVE_COLUMNS : THROUGHPUT_COLUMNS;
  const [top, bottom] = interactive
    ? [
        ['Decode', 'TTFT', 'ITL', 'Tail', 'Error'],
        ['tok/s', 'P50', 'P50', 'P99', 'Rate'],
      ]
    : [
        ['Aggr', 'Decode', 'TTFT', 'ITL', 'Scale', 'Error'],
        ['tok/s', 'tok/s', 'P50', 'P50', 'ratio', 'Rate'],
      ];
  const header = (first: string, cells: string[], last: string) =>
    [first.padEnd(12), ...cells.map((c) => c.padStart(8)), last.padStart(10)].join(' ');
  const lines = [
    `Inference Runtime Scorecard — ${scenario(card)}`,
    '',
    header('Runtime', top!, 'Composite'),
    header('', bottom!, 'Score'),
    '-'.repeat(interactive ? 74 : 88),
  ];
  for (const rt of card.runtimes) {
    const cells = columns.map((m) => tableCell(rt.metrics[m]).padStart(8));
    lines.push(
      [rt.name.padEnd(12), ...cells, `${rt.composite.toFixed(1).padStart(5)} ${rt.grade}`].join(
        ' ',
      ),
    );
  }
  lines.push('', '* = best in class');
  return lines.join('\n');
}

function markdownCell(metric: MetricScore | undefined): string {
  if (!metric) return '-';
  return metric.best ? ` **${metric.score}**` : String(metric.score);
}

/** The scorecard as a markdown table; the best in class is bold. */
export function formatMarkdown(card: Scorecard): string {
  const interactive = card.concurrency === 1;
  const lines = [`## Scorecard — ${scenario(card)}`, ''];
  if (interactive) {
    lines.push(
      '| Runtime | Decode | TTFT P50 | ITL P50 | Tail P99 | Error | **Composite** |',
      '|---------|--------|----------|---------|----------|-------|---------------|',
    );
  } else {
    lines.push(
      '| Runtime | Aggregate | Decode | TTFT P50 | ITL P50 | Scaling | Error | **Composite** |',
      '|---------|-----------|--------|----------|---------|---------|-------|---------------|',
    );
  }
  for (const rt of card.runtimes) {
    const cells = (interactive ? INTERACTIVE_COLUMNS : THROUGHPUT_COLUMNS).map((m) =>
      markdownCell(rt.metrics[m]),
    );
    lines.push(
      `| ${rt.name} | ${cells.join(' | ')} | **${rt.composite.toFixed(1)} (${rt.grade})** |`,
    );
  }
  return lines.join('\n');
}
