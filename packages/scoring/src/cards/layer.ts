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

/** Per-layer decode time that scores 100 (µs). */
export const LAYER_US_EXCELLENT = 220;
/** Per-layer decode time that scores 75 (µs). */
export const LAYER_US_GOOD = 300;

/** One runtime's per-layer decode efficiency. */
export interface LayerScore {
  name: string;
  us_per_layer: number;
  num_layers: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Per-layer decode efficiency, fastest first. */
export interface LayerScorecard {
  timestamp: string;
  runtimes: LayerScore[];
}

/**
 * Scores decode time per transformer layer (`decode_us_per_layer`, lower is better: 220 µs
 * excellent, 300 µs good). Results without a positive `decode_us_per_layer` or without
 * `num_layers` are left out.
 */
export function computeLayerScorecard(
  results: CardInput,
  grades: Grades,
  now: Date = new Date(),
): LayerScorecard {
  const threshold = { excellent: LAYER_US_EXCELLENT, good: LAYER_US_GOOD, higher_is_better: false };
  const rows: LayerScore[] = [];
  for (const [r] of results) {
    const us = r.decode_us_per_layer;
    const layers = r.num_layers;
    if (us == null || layers == null || us <= 0) continue;
    rows.push({
      name: r.runtime_name,
      us_per_layer: us,
      num_layers: layers,
      ...scoreAndGrade(us, threshold, grades),
      best: false,
    });
  }
  return { timestamp: now.toISOString(), runtimes: rankBest(rows, (r) => r.us_per_layer, 'asc') };
}

/** The layer card as a text table. */
export function formatLayerTable(card: LayerScorecard): string {
  const lines = [
    'Per-Layer Decode Efficiency',
    '',
    `${left('Runtime', 20)} ${right('us/layer', 12)} ${right('Layers', 8)} ${right('Score', 8)} ${right('Grade', 8)}`,
    '-'.repeat(60),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 20)} ${right(rt.us_per_layer, 11, 1)}${star(rt.best)} ${right(rt.num_layers, 8)} ${right(rt.score, 8)} ${right(rt.grade, 8)}`,
    );
  }
  lines.push('', `Thresholds: excellent <= ${LAYER_US_EXCELLENT}us, good <= ${LAYER_US_GOOD}us`);
  return lines.join('\n');
}

/** The layer card as markdown; the best value is bold. */
export function formatLayerMarkdown(card: LayerScorecard): string {
  const lines = [
    '## Per-Layer Decode Efficiency',
    '',
    '| Runtime | us/layer | Layers | Score | Grade |',
    '|---------|----------|--------|-------|-------|',
  ];
  for (const rt of card.runtimes) {
    const value = rt.best ? ` **${fixed(rt.us_per_layer, 1)}**` : fixed(rt.us_per_layer, 1);
    lines.push(`| ${rt.name} | ${value} | ${rt.num_layers} | ${rt.score} | ${rt.grade} |`);
  }
  return lines.join('\n');
}
