import {
  type CardInput,
  fixed,
  type Grades,
  left,
  rankBest,
  right,
  scoreAndGrade,
  star,
} from './shared.js';

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

/** The cold-start card as a text table. */
export function formatColdStartTable(card: ColdStartScorecard): string {
  const lines = [
    'Cold Start Time',
    '',
    `${left('Runtime', 24)} ${right('Start (ms)', 12)} ${right('Score', 8)} ${right('Grade', 8)}`,
    '-'.repeat(56),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 24)} ${right(rt.cold_start_ms, 11, 0)}${star(rt.best)} ${right(rt.score, 8)} ${right(rt.grade, 8)}`,
    );
  }
  lines.push(
    '',
    `Thresholds: excellent <= ${COLD_START_EXCELLENT_MS}ms, good <= ${COLD_START_GOOD_MS}ms`,
  );
  return lines.join('\n');
}

/** The cold-start card as markdown. */
export function formatColdStartMarkdown(card: ColdStartScorecard): string {
  const lines = [
    '## Cold Start Time',
    '',
    '| Runtime | Start (ms) | Score | Grade |',
    '|---------|------------|-------|-------|',
  ];
  for (const rt of card.runtimes) {
    lines.push(`| ${rt.name} | ${fixed(rt.cold_start_ms, 0)} | ${rt.score} | ${rt.grade} |`);
  }
  return lines.join('\n');
}
