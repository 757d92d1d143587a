import { fixed, type Grades, left, rankBest, right, scoreAndGrade } from './shared.js';

/** Training tok/s that scores 100. */
export const TRAINING_TOK_S_EXCELLENT = 6000;
/** Training tok/s that scores 75. */
export const TRAINING_TOK_S_GOOD = 1500;

/** What limits a training step. */
export type TrainingBottleneck = 'memory_bw' | 'compute' | 'launch' | 'transfer';

/**
 * The source's bottleneck rule: host–device transfer over 30 % of the step → `transfer`; forward
 * pass under 20 % → `launch` (kernel launch overhead dominates); compute utilization over 50 % →
 * `compute`; otherwise `memory_bw`. Percentages are 0–100.
 */
export function classifyBottleneck(
  forwardPct: number,
  transferPct: number,
  computeUtilPct: number,
): TrainingBottleneck {
  if (transferPct > 30) return 'transfer';
  if (forwardPct < 20) return 'launch';
  if (computeUtilPct > 50) return 'compute';
  return 'memory_bw';
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

/** Scores training throughput (6000 tok/s excellent, 1500 good). */
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

/** The training-step card as a text table. */
export function formatTrainingStepTable(card: TrainingStepScorecard): string {
  const lines = [
    `Training Step Scorecard — ${card.model_name}`,
    `${left('Runtime', 12)} ${right('tok/s', 10)} ${right('ms/step', 10)} ${right('WC%', 5)} ${right('Score', 5)} ${right('Bottleneck', 10)} ${right('Grd', 3)}`,
    '-'.repeat(62),
  ];
  for (const rt of card.runtimes) {
    lines.push(
      `${left(rt.name, 12)}${rt.best ? '*' : ' '}${right(rt.tokens_per_sec, 9, 0)} ${right(rt.ms_per_step, 10, 1)} ${right(rt.wall_coverage * 100, 4, 0)}% ${right(rt.score, 5)} ${right(rt.bottleneck, 10)} ${right(rt.grade, 3)}`,
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
      `| ${rt.name} | ${rt.best ? `**${tokPerSec}**` : tokPerSec} | ${fixed(rt.ms_per_step, 1)} | ${fixed(rt.wall_coverage * 100, 0)}% | ${rt.score} | ${rt.bottleneck} | ${rt.grade} |`,
    );
  }
  return lines.join('\n');
}
