import { type CardInput, fixed, type Grades, rankBest, scoreAndGrade } from './shared.js';
import { type CardLayout, renderMarkdown, renderTable } from './single-metric.js';

/** One runtime's output-validation pass rate. */
export interface CorrectnessScore {
  name: string;
  /** Share of validated outputs that passed, 0–1. */
  pass_rate: number;
  total: number;
  passed: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Correctness scores, highest pass rate first. */
export interface CorrectnessScorecard {
  timestamp: string;
  runtimes: CorrectnessScore[];
}

/**
 * Scores the pass rate of output validation (`quality.pass_rate`: 100 % excellent, 95 % good).
 * Results without `quality` or with nothing validated are left out.
 */
export function computeCorrectnessScorecard(
  results: CardInput,
  grades: Grades,
  now: Date = new Date(),
): CorrectnessScorecard {
  const threshold = { excellent: 1, good: 0.95, higher_is_better: true };
  const rows: CorrectnessScore[] = [];
  for (const [r] of results) {
    const q = r.quality;
    if (!q || q.total_validated === 0) continue;
    rows.push({
      name: r.runtime_name,
      pass_rate: q.pass_rate,
      total: q.total_validated,
      passed: q.passed,
      ...scoreAndGrade(q.pass_rate, threshold, grades),
      best: false,
    });
  }
  return { timestamp: now.toISOString(), runtimes: rankBest(rows, (r) => r.pass_rate, 'desc') };
}

const LAYOUT: CardLayout<CorrectnessScore> = {
  title: 'Correctness Scores',
  nameWidth: 24,
  columns: [
    { header: 'Pass Rate', width: 10, star: true, cell: (r) => `${fixed(r.pass_rate * 100, 1)}%` },
    { header: 'Passed', width: 8, cell: (r) => r.passed },
    { header: 'Total', width: 8, cell: (r) => r.total },
    { header: 'Score', width: 8, cell: (r) => r.score },
    { header: 'Grade', width: 8, cell: (r) => r.grade },
  ],
  ruleWidth: 70,
  footer: ['Thresholds: excellent = 100%, good = 95%'],
  markdownHead: [
    '| Runtime | Pass Rate | Passed | Total | Score | Grade |',
    '|---------|-----------|--------|-------|-------|-------|',
  ],
  markdownRow: (r) => [`${fixed(r.pass_rate * 100, 1)}%`, r.passed, r.total, r.score, r.grade],
};

/** The correctness card as a text table. */
export function formatCorrectnessTable(card: CorrectnessScorecard): string {
  return renderTable(LAYOUT, card.runtimes);
}

/** The correctness card as markdown. */
export function formatCorrectnessMarkdown(card: CorrectnessScorecard): string {
  return renderMarkdown(LAYOUT, card.runtimes);
}
