import { type CardInput, fixed, type Grades, rankBest, scoreAndGrade } from './shared.js';
import { type CardLayout, renderMarkdown, renderTable } from './single-metric.js';

/** Cold start that scores 100 (ms). */
export const COLD_START_EXCELLENT_MS = 500;
/** Cold start that scores 75 (ms). */
export const COLD_START_GOOD_MS = 3000;

/** One runtime's cold start. */
export interface ColdStartScore {
  name: string;
  cold_start_ms: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Cold starts, fastest first. */
export interface ColdStartScorecard {
  timestamp: string;
  runtimes: ColdStartScore[];
}

/**
 * Scores the time to first token of a cold runtime (`cold_start_ms`, lower is better: 500 ms
 * excellent, 3 s good). Results without a positive `cold_start_ms` are left out.
 */
export function computeColdStartScorecard(
  results: CardInput,
  grades: Grades,
  now: Date = new Date(),
): ColdStartScorecard {
  const threshold = {
    excellent: COLD_START_EXCELLENT_MS,
    good: COLD_START_GOOD_MS,
    higher_is_better: false,
  };
  const rows: ColdStartScore[] = [];
  for (const [r] of results) {
    const ms = r.cold_start_ms;
    if (ms == null || ms <= 0) continue;
    rows.push({
      name: r.runtime_name,
      cold_start_ms: ms,
      ...scoreAndGrade(ms, threshold, grades),
      best: false,
    });
  }
  return { timestamp: now.toISOString(), runtimes: rankBest(rows, (r) => r.cold_start_ms, 'asc') };
}

const LAYOUT: CardLayout<ColdStartScore> = {
  title: 'Cold Start Time',
  nameWidth: 24,
  columns: [
    {
      header: 'Start (ms)',
      width: 12,
      cellWidth: 11,
      star: true,
      cell: (r) => fixed(r.cold_start_ms, 0),
    },
    { header: 'Score', width: 8, cell: (r) => r.score },
    { header: 'Grade', width: 8, cell: (r) => r.grade },
  ],
  ruleWidth: 56,
  footer: [
    `Thresholds: excellent <= ${COLD_START_EXCELLENT_MS}ms, good <= ${COLD_START_GOOD_MS}ms`,
  ],
  markdownHead: [
    '| Runtime | Start (ms) | Score | Grade |',
    '|---------|------------|-------|-------|',
  ],
  markdownRow: (r) => [fixed(r.cold_start_ms, 0), r.score, r.grade],
};

/** The cold-start card as a text table. */
export function formatColdStartTable(card: ColdStartScorecard): string {
  return renderTable(LAYOUT, card.runtimes);
}

/** The cold-start card as markdown. */
export function formatColdStartMarkdown(card: ColdStartScorecard): string {
  return renderMarkdown(LAYOUT, card.runtimes);
}
