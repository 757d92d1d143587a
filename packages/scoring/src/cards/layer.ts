import { type CardInput, fixed, type Grades, rankBest, scoreAndGrade } from './shared.js';
import { type CardLayout, renderMarkdown, renderTable } from './single-metric.js';

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

const LAYOUT: CardLayout<LayerScore> = {
  title: 'Per-Layer Decode Efficiency',
  nameWidth: 20,
  columns: [
    {
      header: 'us/layer',
      width: 12,
      cellWidth: 11,
      star: true,
      cell: (r) => fixed(r.us_per_layer, 1),
    },
    { header: 'Layers', width: 8, cell: (r) => r.num_layers },
    { header: 'Score', width: 8, cell: (r) => r.score },
    { header: 'Grade', width: 8, cell: (r) => r.grade },
  ],
  ruleWidth: 60,
  footer: [`Thresholds: excellent <= ${LAYER_US_EXCELLENT}us, good <= ${LAYER_US_GOOD}us`],
  markdownHead: [
    '| Runtime | us/layer | Layers | Score | Grade |',
    '|---------|----------|--------|-------|-------|',
  ],
  markdownRow: (r) => [
    r.best ? ` **${fixed(r.us_per_layer, 1)}**` : fixed(r.us_per_layer, 1),
    r.num_layers,
    r.score,
    r.grade,
  ],
};

/** The layer card as a text table. */
export function formatLayerTable(card: LayerScorecard): string {
  return renderTable(LAYOUT, card.runtimes);
}

/** The layer card as markdown; the best value is bold. */
export function formatLayerMarkdown(card: LayerScorecard): string {
  return renderMarkdown(LAYOUT, card.runtimes);
}
