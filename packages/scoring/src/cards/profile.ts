import type { ScoringContract } from '../contract.js';
import type { LoadTestResult } from '../load-test-result.js';
import { assignGrade, computeMetricScore, roundHalfAwayFromZero } from '../metric-score.js';
import { type CardInput, compareNames, fixed, groupPush, left, right } from './shared.js';

/**
 * Prompt-length profile of a run, by mean prompt tokens: micro < 15 ≤ short < 64 ≤ medium < 256 ≤
 * long. The values are serde's names for the source enum, so a card serializes as the source's
 * does; {@link PromptCategory.label} gives the display name.
 */
export type PromptCategory = 'Micro' | 'Short' | 'Medium' | 'Long';

const PROFILE_ORDER: Record<PromptCategory, number> = { Micro: 0, Short: 1, Medium: 2, Long: 3 };

/** Functions of {@link PromptCategory} (the source's `impl PromptCategory`). */
export const PromptCategory = {
  /** The profile of a run whose prompts average `avg` tokens. */
  fromAvgPromptTokens(avg: number): PromptCategory {
    if (avg < 15) return 'Micro';
    if (avg < 64) return 'Short';
    if (avg < 256) return 'Medium';
    return 'Long';
  },
  /** The display name: `micro`, `short`, `medium` or `long`. */
  label(category: PromptCategory): string {
    return category.toLowerCase();
  },
} as const;

/** One runtime under one prompt profile. */
export interface ProfileEntry {
  name: string;
  profile: PromptCategory;
  avg_prompt_tokens: number;
  /** Weighted sum of metric scores (no bonus, no jitter penalty), rounded. */
  composite: number;
  grade: string;
  decode_tok_s: number;
  ttft_p50_ms: number;
  itl_p50_ms: number;
}

/** How much a runtime's composite holds up from its best profile to its worst. */
export interface ConsistencyScore {
  name: string;
  best_score: number;
  worst_score: number;
  /** `worst / best × 100`, rounded; 100 means no profile does worse. */
  consistency: number;
  grade: string;
}

/** Scores per prompt profile, and consistency across profiles. */
export interface ProfileScorecard {
  timestamp: string;
  concurrency: number;
  entries: ProfileEntry[];
  consistency: ConsistencyScore[];
}

const METRIC_VALUES: Record<string, (r: LoadTestResult) => number> = {
  decode_tok_s: (r) => r.decode_tok_per_sec,
  ttft_p50_ms: (r) => r.ttft_p50_ms,
  itl_p50_ms: (r) => r.itl_p50_ms,
  ttft_p99_ms: (r) => r.ttft_p99_ms,
  error_rate: (r) => r.error_rate,
  aggregate_tok_s: (r) => r.tokens_per_sec,
};

function avgPromptTokens(r: LoadTestResult): number {
  return r.total_requests > 0 ? r.prompt_tokens_total / r.total_requests : 0;
}

/**
 * Scores each runtime per prompt profile (the profile comes from the mean prompt tokens of a
 * result; the last result of a runtime and profile counts) with the contract's interactive or
 * throughput weights, then rates consistency for runtimes seen under two or more profiles.
 */
export function computeProfileScorecard(
  results: CardInput,
  contract: ScoringContract,
  now: Date = new Date(),
): ProfileScorecard {
  const concurrency = results[0]?.[0].concurrency ?? 1;
  const weights = concurrency > 1 ? contract.throughput_weights : contract.interactive_weights;
  const groups = new Map<string, { name: string; profile: PromptCategory; last: LoadTestResult }>();
  for (const [result] of results) {
    const profile = PromptCategory.fromAvgPromptTokens(avgPromptTokens(result));
    groups.set(JSON.stringify([result.runtime_name, profile]), {
      name: result.runtime_name,
      profile,
      last: result,
    });
  }
  const entries: ProfileEntry[] = [];
  for (const { name, profile, last } of groups.values()) {
    let weightedSum = 0;
    for (const [metric, weight] of Object.entries(weights)) {
      const value = METRIC_VALUES[metric];
      const threshold = contract.thresholds[metric];
      if (!value || !threshold) continue;
      weightedSum += weight * computeMetricScore(value(last), threshold);
    }
    const composite = Math.min(roundHalfAwayFromZero(weightedSum), 100);
    entries.push({
      name,
      profile,
      avg_prompt_tokens: avgPromptTokens(last),
      composite,
      grade: assignGrade(composite, contract.grades),
      decode_tok_s: last.decode_tok_per_sec,
      ttft_p50_ms: last.ttft_p50_ms,
      itl_p50_ms: last.itl_p50_ms,
    });
  }
  entries.sort(
    (a, b) => compareNames(a.name, b.name) || PROFILE_ORDER[a.profile] - PROFILE_ORDER[b.profile],
  );

  const scoresByRuntime = new Map<string, number[]>();
  for (const entry of entries) groupPush(scoresByRuntime, entry.name, entry.composite);
  const consistency: ConsistencyScore[] = [];
  for (const [name, scores] of scoresByRuntime) {
    if (scores.length < 2) continue;
    const best = Math.max(...scores);
    const worst = Math.min(...scores);
    const value = best > 0 ? roundHalfAwayFromZero((worst / best) * 100) : 0;
    consistency.push({
      name,
      best_score: best,
      worst_score: worst,
      consistency: value,
      grade: assignGrade(value, contract.grades),
    });
  }
  consistency.sort((a, b) => b.consistency - a.consistency);
  return { timestamp: now.toISOString(), concurrency, entries, consistency };
}

/** The profile card as a text table, with the consistency table when there is one. */
export function formatProfileTable(card: ProfileScorecard): string {
  const lines = [
    'Per-Prompt-Profile Scores',
    '',
    `${left('Runtime', 20)} ${right('Profile', 8)} ${right('Tokens', 8)} ${right('Decode', 10)} ${right('TTFT', 10)} ${right('ITL', 8)} ${right('Score', 10)}`,
    '-'.repeat(82),
  ];
  for (const e of card.entries) {
    lines.push(
      `${left(e.name, 20)} ${right(PromptCategory.label(e.profile), 8)} ${right(e.avg_prompt_tokens, 8, 0)} ${right(e.decode_tok_s, 9, 1)} ${right(e.ttft_p50_ms, 9, 1)} ${right(e.itl_p50_ms, 8, 1)} ${right(e.composite, 5, 1)} ${e.grade}`,
    );
  }
  if (card.consistency.length > 0) {
    lines.push(
      '',
      'Profile Consistency (worst/best score across profiles)',
      `${left('Runtime', 20)} ${right('Best', 8)} ${right('Worst', 8)} ${right('Consistency', 10)} ${right('Grade', 8)}`,
      '-'.repeat(58),
    );
    for (const cs of card.consistency) {
      lines.push(
        `${left(cs.name, 20)} ${right(cs.best_score, 8, 1)} ${right(cs.worst_score, 8, 1)} ${right(cs.consistency, 9, 0)}% ${right(cs.grade, 8)}`,
      );
    }
  }
  return lines.join('\n');
}

/** The profile card as markdown. */
export function formatProfileMarkdown(card: ProfileScorecard): string {
  const lines = [
    '## Per-Prompt-Profile Scores',
    '',
    '| Runtime | Profile | Tokens | Decode tok/s | TTFT P50 ms | ITL P50 ms | **Score** |',
    '|---------|---------|--------|-------------|-------------|------------|-----------|',
  ];
  for (const e of card.entries) {
    lines.push(
      `| ${e.name} | ${PromptCategory.label(e.profile)} | ${fixed(e.avg_prompt_tokens, 0)} | ${fixed(e.decode_tok_s, 1)} | ${fixed(e.ttft_p50_ms, 1)} | ${fixed(e.itl_p50_ms, 1)} | **${fixed(e.composite, 1)} (${e.grade})** |`,
    );
  }
  if (card.consistency.length > 0) {
    lines.push(
      '',
      '### Profile Consistency',
      '',
      '| Runtime | Best | Worst | Consistency | Grade |',
      '|---------|------|-------|-------------|-------|',
    );
    for (const cs of card.consistency) {
      lines.push(
        `| ${cs.name} | ${fixed(cs.best_score, 1)} | ${fixed(cs.worst_score, 1)} | ${fixed(cs.consistency, 0)}% | ${cs.grade} |`,
      );
    }
  }
  return lines.join('\n');
}
