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

/** Decode tok/s per watt that scores 100. */
export const POWER_EFFICIENCY_EXCELLENT = 3.0;
/** Decode tok/s per watt that scores 75. */
export const POWER_EFFICIENCY_GOOD = 1.5;

/** One runtime's power efficiency. */
export interface PowerEfficiencyScore {
  name: string;
  mean_power_w: number;
  energy_per_token_mj: number;
  tok_per_watt: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Power efficiency, most efficient first. */
export interface PowerEfficiencyScorecard {
  timestamp: string;
  runtimes: PowerEfficiencyScore[];
}

/**
 * Scores decode tok/s per watt of mean GPU power (3 excellent, 1.5 good). Results without GPU
 * telemetry, with no power draw or no decode rate are left out.
 */
export function computePowerEfficiencyScorecard(
  results: CardInput,
  grades: Grades,
  now: Date = new Date(),
): PowerEfficiencyScorecard {
  const threshold = {
    excellent: POWER_EFFICIENCY_EXCELLENT,
    good: POWER_EFFICIENCY_GOOD,
    higher_is_better: true,
  };
  const rows: PowerEfficiencyScore[] = [];
  for (const [r] of results) {
    const telemetry = r.gpu_telemetry;
    if (!telemetry || telemetry.power_draw_w.mean <= 0 || r.decode_tok_per_sec <= 0) continue;
    const tokPerWatt = r.decode_tok_per_sec / telemetry.power_draw_w.mean;
    rows.push({
      name: r.runtime_name,
      mean_power_w: telemetry.power_draw_w.mean,
      energy_per_token_mj: telemetry.energy_per_token_mj,
      tok_per_watt: tokPerWatt,
      ...scoreAndGrade(tokPerWatt, threshold, grades),
      best: false,
    });
  }
  return { timestamp: now.toISOString(), runtimes: rankBest(rows, (r) => r.tok_per_watt, 'desc') };
}

/** The power card as a text table. */
export function formatPowerTable(card: PowerEfficiencyScorecard): string {
  const lines = [
    'Power Efficiency',
    '',
    `${left('Runtime', 24)} ${right('Power (W)', 10)} ${right('mJ/token', 12)} ${right('tok/s/W', 10)} ${right('Score', 8)} ${right('Grade', 8)}`,
    '-'.repeat(76),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 24)} ${right(rt.mean_power_w, 10, 1)} ${right(rt.energy_per_token_mj, 12, 1)} ${right(rt.tok_per_watt, 9, 2)}${star(rt.best)} ${right(rt.score, 8)} ${right(rt.grade, 8)}`,
    );
  }
  lines.push(
    '',
    `Thresholds: excellent >= ${POWER_EFFICIENCY_EXCELLENT} tok/s/W, good >= ${POWER_EFFICIENCY_GOOD} tok/s/W`,
  );
  return lines.join('\n');
}

/** The power card as markdown. */
export function formatPowerMarkdown(card: PowerEfficiencyScorecard): string {
  const lines = [
    '## Power Efficiency',
    '',
    '| Runtime | Power (W) | mJ/token | tok/s/W | Score | Grade |',
    '|---------|-----------|----------|---------|-------|-------|',
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `| ${rt.name} | ${fixed(rt.mean_power_w, 1)} | ${fixed(rt.energy_per_token_mj, 1)} | ${fixed(rt.tok_per_watt, 2)} | ${rt.score} | ${rt.grade} |`,
    );
  }
  return lines.join('\n');
}
