import type { LoadTestResult } from '../load-test-result.js';
import { stripConcurrencySuffix } from '../scorecard.js';
import {
  type CardInput,
  fixed,
  type Grades,
  groupPush,
  rankBest,
  scoreAndGrade,
} from './shared.js';
import { type CardLayout, renderMarkdown, renderTable } from './single-metric.js';

/** Scaling efficiency that scores 100. */
export const SCALING_EFFICIENCY_EXCELLENT = 0.9;
/** Scaling efficiency that scores 75. */
export const SCALING_EFFICIENCY_GOOD = 0.5;

/** How one runtime's aggregate throughput grows with concurrency. */
export interface ConcurrencyScalingScore {
  /** Runtime name without its `-cN` suffix. */
  name: string;
  c1_decode_tok_s: number;
  peak_aggregate_tok_s: number;
  peak_concurrency: number;
  /** `peak_aggregate_tok_s / (c1_decode_tok_s × peak_concurrency)`: 1 is linear scaling. */
  scaling_efficiency: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Concurrency scaling, most efficient first. */
export interface ConcurrencyScalingScorecard {
  timestamp: string;
  runtimes: ConcurrencyScalingScore[];
}

/**
 * Scores how close each runtime comes to linear scaling (90 % excellent, 50 % good). Results are
 * grouped by runtime name with `-cN` stripped; a runtime needs runs at two or more concurrencies,
 * one of them c=1 with a positive decode rate (the best c=1 run counts). Its peak is the run with
 * the highest aggregate tok/s.
 */
export function computeConcurrencyScalingScorecard(
  results: CardInput,
  grades: Grades,
  now: Date = new Date(),
): ConcurrencyScalingScorecard {
  const threshold = {
    excellent: SCALING_EFFICIENCY_EXCELLENT,
    good: SCALING_EFFICIENCY_GOOD,
    higher_is_better: true,
  };
  const byRuntime = new Map<string, Map<number, LoadTestResult[]>>();
  for (const [r] of results) {
    const base = stripConcurrencySuffix(r.runtime_name);
    const byConcurrency = byRuntime.get(base) ?? new Map<number, LoadTestResult[]>();
    byRuntime.set(base, byConcurrency);
    groupPush(byConcurrency, r.concurrency, r);
  }
  const rows: ConcurrencyScalingScore[] = [];
  for (const [name, byConcurrency] of byRuntime) {
    if (byConcurrency.size < 2) continue;
    const c1Runs = byConcurrency.get(1) ?? [];
    const c1Decode = c1Runs.length > 0 ? Math.max(...c1Runs.map((r) => r.decode_tok_per_sec)) : 0;
    if (!(c1Decode > 0)) continue;
    let peakAggregate = 0;
    let peakConcurrency = 1;
    for (const [concurrency, runs] of byConcurrency) {
      for (const r of runs) {
        if (r.tokens_per_sec > peakAggregate) {
          peakAggregate = r.tokens_per_sec;
          peakConcurrency = concurrency;
        }
      }
    }
    if (peakConcurrency === 0) continue;
    const efficiency = peakAggregate / (c1Decode * peakConcurrency);
    rows.push({
      name,
      c1_decode_tok_s: c1Decode,
      peak_aggregate_tok_s: peakAggregate,
      peak_concurrency: peakConcurrency,
      scaling_efficiency: efficiency,
      ...scoreAndGrade(efficiency, threshold, grades),
      best: false,
    });
  }
  return {
    timestamp: now.toISOString(),
    runtimes: rankBest(rows, (r) => r.scaling_efficiency, 'desc'),
  };
}

const LAYOUT: CardLayout<ConcurrencyScalingScore> = {
  title: 'Concurrency Scaling Efficiency',
  nameWidth: 24,
  columns: [
    { header: 'c=1 tok/s', width: 10, cell: (r) => fixed(r.c1_decode_tok_s, 1) },
    { header: 'Peak Aggr', width: 12, cell: (r) => fixed(r.peak_aggregate_tok_s, 1) },
    { header: 'Peak c', width: 8, cell: (r) => r.peak_concurrency },
    {
      header: 'Efficiency',
      width: 12,
      star: true,
      cell: (r) => `${fixed(r.scaling_efficiency * 100, 1)}%`,
    },
    { header: 'Score', width: 8, cell: (r) => r.score },
    { header: 'Grade', width: 8, cell: (r) => r.grade },
  ],
  ruleWidth: 88,
  footer: [
    `Thresholds: excellent >= ${fixed(SCALING_EFFICIENCY_EXCELLENT * 100, 0)}%, good >= ${fixed(SCALING_EFFICIENCY_GOOD * 100, 0)}%`,
    'Efficiency = peak_aggregate / (c1_decode × peak_concurrency)',
  ],
  markdownHead: [
    '| Runtime | c=1 tok/s | Peak Aggregate | Peak c | Efficiency | Score | Grade |',
    '|---------|-----------|---------------|--------|------------|-------|-------|',
  ],
  markdownRow: (r) => [
    fixed(r.c1_decode_tok_s, 1),
    fixed(r.peak_aggregate_tok_s, 1),
    r.peak_concurrency,
    `${fixed(r.scaling_efficiency * 100, 1)}%`,
    r.score,
    r.grade,
  ],
};

/** The scaling card as a text table. */
export function formatScalingTable(card: ConcurrencyScalingScorecard): string {
  return renderTable(LAYOUT, card.runtimes);
}

/** The scaling card as markdown. */
export function formatScalingMarkdown(card: ConcurrencyScalingScorecard): string {
  return renderMarkdown(LAYOUT, card.runtimes);
}
