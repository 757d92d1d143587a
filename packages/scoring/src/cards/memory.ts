import { type CardInput, fixed, type Grades, rankBest, scoreAndGrade } from './shared.js';
import { type CardLayout, renderMarkdown, renderTable } from './single-metric.js';

/** Decode tok/s per GiB of peak VRAM that scores 100. */
export const MEMORY_EFFICIENCY_EXCELLENT = 40;
/** Decode tok/s per GiB of peak VRAM that scores 75. */
export const MEMORY_EFFICIENCY_GOOD = 20;

/** One runtime's memory efficiency. */
export interface MemoryScore {
  name: string;
  /** Peak VRAM used (MB). */
  vram_used_mb: number;
  vram_total_mb: number;
  /** Decode tok/s per GiB of peak VRAM. */
  tok_per_sec_per_gb: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Memory efficiency, most efficient first. */
export interface MemoryScorecard {
  timestamp: string;
  runtimes: MemoryScore[];
}

/**
 * Scores decode tok/s per GiB of peak VRAM (`gpu_telemetry.memory_used_mb.max / 1024`; 40
 * excellent, 20 good). Results without GPU telemetry or with no VRAM used are left out.
 */
export function computeMemoryScorecard(
  results: CardInput,
  grades: Grades,
  now: Date = new Date(),
): MemoryScorecard {
  const threshold = {
    excellent: MEMORY_EFFICIENCY_EXCELLENT,
    good: MEMORY_EFFICIENCY_GOOD,
    higher_is_better: true,
  };
  const rows: MemoryScore[] = [];
  for (const [r] of results) {
    const telemetry = r.gpu_telemetry;
    if (!telemetry) continue;
    const vramGb = telemetry.memory_used_mb.max / 1024;
    if (vramGb <= 0) continue;
    const efficiency = r.decode_tok_per_sec / vramGb;
    rows.push({
      name: r.runtime_name,
      vram_used_mb: telemetry.memory_used_mb.max,
      vram_total_mb: telemetry.memory_total_mb,
      tok_per_sec_per_gb: efficiency,
      ...scoreAndGrade(efficiency, threshold, grades),
      best: false,
    });
  }
  return {
    timestamp: now.toISOString(),
    runtimes: rankBest(rows, (r) => r.tok_per_sec_per_gb, 'desc'),
  };
}

const LAYOUT: CardLayout<MemoryScore> = {
  title: 'Memory Efficiency',
  nameWidth: 24,
  columns: [
    { header: 'VRAM MB', width: 10, cell: (r) => fixed(r.vram_used_mb, 0) },
    { header: 'Total MB', width: 10, cell: (r) => fixed(r.vram_total_mb, 0) },
    {
      header: 'tok/s/GB',
      width: 12,
      cellWidth: 11,
      star: true,
      cell: (r) => fixed(r.tok_per_sec_per_gb, 1),
    },
    { header: 'Score', width: 8, cell: (r) => r.score },
    { header: 'Grade', width: 8, cell: (r) => r.grade },
  ],
  ruleWidth: 76,
  footer: [
    `Thresholds: excellent >= ${MEMORY_EFFICIENCY_EXCELLENT} tok/s/GB, good >= ${MEMORY_EFFICIENCY_GOOD} tok/s/GB`,
  ],
  markdownHead: [
    '| Runtime | VRAM (MB) | Total (MB) | tok/s/GB | Score | Grade |',
    '|---------|-----------|------------|----------|-------|-------|',
  ],
  markdownRow: (r) => [
    fixed(r.vram_used_mb, 0),
    fixed(r.vram_total_mb, 0),
    fixed(r.tok_per_sec_per_gb, 1),
    r.score,
    r.grade,
  ],
};

/** The memory card as a text table. */
export function formatMemoryTable(card: MemoryScorecard): string {
  return renderTable(LAYOUT, card.runtimes);
}

/** The memory card as markdown. */
export function formatMemoryMarkdown(card: MemoryScorecard): string {
  return renderMarkdown(LAYOUT, card.runtimes);
}
