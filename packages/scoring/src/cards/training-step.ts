import { fixed, type Grades, left, rankBest, right, scoreAndGrade } from './shared.js';

/** Training tok/s that scores 100. */
export const TRAINING_TOK_S_EXCELLENT = 6000;
/** Training tok/s that scores 75. */
export const TRAINING_TOK_S_GOOD = 1500;

/**
 * What limits a training step. The values are serde's names for the source enum, so a card
 * serializes as the source's does; {@link TrainingBottleneck.label} gives the display name.
 */
export type TrainingBottleneck = 'MemoryBw' | 'Compute' | 'Launch' | 'Transfer';

const BOTTLENECK_LABELS: Record<TrainingBottleneck, string> = {
  MemoryBw: 'memory_bw',
  Compute: 'compute',
  Launch: 'launch',
  Transfer: 'transfer',
};

/** Functions of {@link TrainingBottleneck} (the source's `impl Display`). */
export const TrainingBottleneck = {
  /** The display name: `memory_bw`, `compute`, `launch` or `transfer`. */
  label(bottleneck: TrainingBottleneck): string {
    return BOTTLENECK_LABELS[bottleneck];
  },
} as const;

/**
 * The source's bottleneck rule: host–device transfer over 30 % of the step → `Transfer`; forward
 * pass under 20 % → `Launch` (kernel launch overhead dominates); compute utilization over 50 % →
 * `Compute`; otherwise `MemoryBw`. Percentages are 0–100; each bound is exclusive.
 */
export function classifyBottleneck(
  forwardPct: number,
  transferPct: number,
  computeUtilPct: number,
): TrainingBottleneck {
  if (transferPct > 30) return 'Transfer';
  if (forwardPct < 20) return 'Launch';
  if (computeUtilPct > 50) return 'Compute';
  return 'MemoryBw';
}

/** One runtime's measured training step. */
export interface TrainingStepRun {
  name: string;
  tokensPerSec: number;
  /** Share of the step's wall time the profile accounts for, 0–1. */
  wallCoverage: number;
  bottleneck: TrainingBottleneck;
  hotspotLayers: number;
  msPerStep: number;
}

/** One runtime's training-step score. */
export interface TrainingStepScore {
  name: string;
  ms_per_step: number;
  tokens_per_sec: number;
  wall_coverage: number;
  bottleneck: TrainingBottleneck;
  hotspot_layers: number;
  score: number;
  grade: string;
  best: boolean;
}

/** Training-step scores of one model, fastest first. */
export interface TrainingStepScorecard {
  timestamp: string;
  model_name: string;
  runtimes: TrainingStepScore[];
}

/**
 * Scores training throughput in tok/s (6000 excellent, 1500 good, higher is better) and marks the
 * fastest run best. Every run is kept; the source takes its runs as tuples
 * `(name, tok_s, wall_coverage, bottleneck, hotspot_layers, ms_per_step)`.
 * @param now the card's timestamp (default: the current time)
 */
export function computeTrainingStepScorecard(
  runs: readonly TrainingStepRun[],
  modelName: string,
  grades: Grades,
  now: Date = new Date(),
): TrainingStepScorecard {
  const threshold = {
    excellent: TRAINING_TOK_S_EXCELLENT,
    good: TRAINING_TOK_S_GOOD,
    higher_is_better: true,
  };
  const rows = runs.map(
    (run): TrainingStepScore => ({
      name: run.name,
      ms_per_step: run.msPerStep,
      tokens_per_sec: run.tokensPerSec,
      wall_coverage: run.wallCoverage,
      bottleneck: run.bottleneck,
      hotspot_layers: run.hotspotLayers,
      ...scoreAndGrade(run.tokensPerSec, threshold, grades),
      best: false,
    }),
  );
  return {
    timestamp: now.toISOString(),
    model_name: modelName,
    runtimes: rankBest(rows, (r) => r.tokens_per_sec, 'desc'),
  };
}

/**
 * The training-step card as a text table; `*` marks the best run. The bottleneck column is not
 * padded: the source prints it through a `Display` that writes its name directly, and Rust applies
 * `{:>10}` only to `Formatter::pad`.
 */
export function formatTrainingStepTable(card: TrainingStepScorecard): string {
  const lines = [
    `Training Step Scorecard — ${card.model_name}`,
    `${left('Runtime', 12)} ${right('tok/s', 10)} ${right('ms/step', 10)} ${right('WC%', 5)} ${right('Score', 5)} ${right('Bottleneck', 10)} ${right('Grd', 3)}`,
    '-'.repeat(62),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 12)}${rt.best ? '*' : ' '}${right(rt.tokens_per_sec, 9, 0)} ${right(rt.ms_per_step, 10, 1)} ${right(rt.wall_coverage * 100, 4, 0)}% ${right(rt.score, 5)} ${TrainingBottleneck.label(rt.bottleneck)} ${right(rt.grade, 3)}`,
    );
  }
  return lines.join('\n');
}

/** The training-step card as markdown (the source has only the text table; this follows its columns). */
export function formatTrainingStepMarkdown(card: TrainingStepScorecard): string {
  const lines = [
    `## Training Step Scorecard — ${card.model_name}`,
    '',
    '| Runtime | tok/s | ms/step | WC% | Score | Bottleneck | Grade |',
    '|---------|-------|---------|-----|-------|------------|-------|',
  ];
  for (const rt of card.runtimes) {
    const tokPerSec = fixed(rt.tokens_per_sec, 0);
    lines.push(
      `| ${rt.name} | ${rt.best ? `**${tokPerSec}**` : tokPerSec} | ${fixed(rt.ms_per_step, 1)} | ${fixed(rt.wall_coverage * 100, 0)}% | ${rt.score} | ${TrainingBottleneck.label(rt.bottleneck)} | ${rt.grade} |`,
    );
  }
  return lines.join('\n');
}
