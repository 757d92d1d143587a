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

/** The memory card as a text table. */
export function formatMemoryTable(card: MemoryScorecard): string {
  const lines = [
    'Memory Efficiency',
    '',
    `${left('Runtime', 24)} ${right('VRAM MB', 10)} ${right('Total MB', 10)} ${right('tok/s/GB', 12)} ${right('Score', 8)} ${right('Grade', 8)}`,
    '-'.repeat(76),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 24)} ${right(rt.vram_used_mb, 10, 0)} ${right(rt.vram_total_mb, 10, 0)} ${right(rt.tok_per_sec_per_gb, 11, 1)}${star(rt.best)} ${right(rt.score, 8)} ${right(rt.grade, 8)}`,
    );
  }
  lines.push(
    '',
    `Thresholds: excellent >= ${MEMORY_EFFICIENCY_EXCELLENT} tok/s/GB, good >= ${MEMORY_EFFICIENCY_GOOD} tok/s/GB`,
  );
  return lines.join('\n');
}

/** The memory card as markdown. */
export function formatMemoryMarkdown(card: MemoryScorecard): string {
  const lines = [
    '## Memory Efficiency',
    '',
    '| Runtime | VRAM (MB) | Total (MB) | tok/s/GB | Score | Grade |',
    '|---------|-----------|------------|----------|-------|-------|',
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `| ${rt.name} | ${fixed(rt.vram_used_mb, 0)} | ${fixed(rt.vram_total_mb, 0)} | ${fixed(rt.tok_per_sec_per_gb, 1)} | ${rt.score} | ${rt.grade} |`,
    );
  }
  return lines.join('\n');
}
