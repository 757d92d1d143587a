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

/** The correctness card as a text table. */
export function formatCorrectnessTable(card: CorrectnessScorecard): string {
  const lines = [
    'Correctness Scores',
    '',
    `${left('Runtime', 24)} ${right('Pass Rate', 10)} ${right('Passed', 8)} ${right('Total', 8)} ${right('Score', 8)} ${right('Grade', 8)}`,
    '-'.repeat(70),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 24)} ${right(rt.pass_rate * 100, 9, 1)}%${star(rt.best)} ${right(rt.passed, 8)} ${right(rt.total, 8)} ${right(rt.score, 8)} ${right(rt.grade, 8)}`,
    );
  }
  lines.push('', 'Thresholds: excellent = 100%, good = 95%');
  return lines.join('\n');
}

/** The correctness card as markdown. */
export function formatCorrectnessMarkdown(card: CorrectnessScorecard): string {
  const lines = [
    '## Correctness Scores',
    '',
    '| Runtime | Pass Rate | Passed | Total | Score | Grade |',
    '|---------|-----------|--------|-------|-------|-------|',
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `| ${rt.name} | ${fixed(rt.pass_rate * 100, 1)}% | ${rt.passed} | ${rt.total} | ${rt.score} | ${rt.grade} |`,
    );
  }
  return lines.join('\n');
}
