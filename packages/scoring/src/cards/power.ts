import { type CardInput, fixed, type Grades, rankBest, scoreAndGrade } from './shared.js';
import { type CardLayout, renderMarkdown, renderTable } from './single-metric.js';

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

const LAYOUT: CardLayout<PowerEfficiencyScore> = {
  title: 'Power Efficiency',
  nameWidth: 24,
  columns: [
    { header: 'Power (W)', width: 10, cell: (r) => fixed(r.mean_power_w, 1) },
    { header: 'mJ/token', width: 12, cell: (r) => fixed(r.energy_per_token_mj, 1) },
    {
      header: 'tok/s/W',
      width: 10,
      cellWidth: 9,
      star: true,
      cell: (r) => fixed(r.tok_per_watt, 2),
    },
    { header: 'Score', width: 8, cell: (r) => r.score },
    { header: 'Grade', width: 8, cell: (r) => r.grade },
  ],
  ruleWidth: 76,
  footer: [
    `Thresholds: excellent >= ${POWER_EFFICIENCY_EXCELLENT} tok/s/W, good >= ${POWER_EFFICIENCY_GOOD} tok/s/W`,
  ],
  markdownHead: [
    '| Runtime | Power (W) | mJ/token | tok/s/W | Score | Grade |',
    '|---------|-----------|----------|---------|-------|-------|',
  ],
  markdownRow: (r) => [
    fixed(r.mean_power_w, 1),
    fixed(r.energy_per_token_mj, 1),
    fixed(r.tok_per_watt, 2),
    r.score,
    r.grade,
  ],
};

/** The power card as a text table. */
export function formatPowerTable(card: PowerEfficiencyScorecard): string {
  return renderTable(LAYOUT, card.runtimes);
}

/** The power card as markdown. */
export function formatPowerMarkdown(card: PowerEfficiencyScorecard): string {
  return renderMarkdown(LAYOUT, card.runtimes);
}
