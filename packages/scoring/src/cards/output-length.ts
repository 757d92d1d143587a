import type { ScoringContract } from '../contract.js';
import type { RequestDetail } from '../load-test-result.js';
import {
  type CardInput,
  compareNames,
  fixed,
  groupPush,
  left,
  right,
  scoreAndGrade,
} from './shared.js';

/**
 * Output-length bucket of a request, by completion tokens: short < 32 ≤ medium ≤ 128 < long. The
 * values are serde's names for the source enum, so a card serializes as the source's does;
 * {@link OutputLengthCategory.label} gives the display name.
 */
export type OutputLengthCategory = 'Short' | 'Medium' | 'Long';

const CATEGORY_ORDER: Record<OutputLengthCategory, number> = { Short: 0, Medium: 1, Long: 2 };

/** Functions of {@link OutputLengthCategory} (the source's `impl OutputLengthCategory`). */
export const OutputLengthCategory = {
  /** The bucket of a completion of `tokens` tokens. */
  fromTokens(tokens: number): OutputLengthCategory {
    if (tokens < 32) return 'Short';
    if (tokens <= 128) return 'Medium';
    return 'Long';
  },
  /** The display name: `short`, `medium` or `long`. */
  label(category: OutputLengthCategory): string {
    return category.toLowerCase();
  },
} as const;

/** One runtime's requests of one output-length bucket. */
export interface OutputLengthEntry {
  name: string;
  category: OutputLengthCategory;
  request_count: number;
  avg_output_tokens: number;
  /** 1000 / mean ITL. */
  decode_tok_s: number;
  /** Mean of the requests' mean ITLs (ms); the source names it `itl_p50_ms`. */
  itl_p50_ms: number;
  score: number;
  grade: string;
}

/** Per-output-length scores, by runtime name then bucket. */
export interface OutputLengthScorecard {
  timestamp: string;
  entries: OutputLengthEntry[];
}

/**
 * Buckets each result's `request_details` by completion length and scores each bucket's mean ITL
 * against the contract's `itl_p50_ms` threshold (6 ms / 10 ms when the contract has none).
 * Results without request details are left out.
 */
export function computeOutputLengthScorecard(
  results: CardInput,
  contract: ScoringContract,
  now: Date = new Date(),
): OutputLengthScorecard {
  const threshold = contract.thresholds.itl_p50_ms ?? {
    excellent: 6,
    good: 10,
    higher_is_better: false,
  };
  const entries: OutputLengthEntry[] = [];
  for (const [result] of results) {
    const buckets = new Map<OutputLengthCategory, RequestDetail[]>();
    for (const detail of result.request_details) {
      groupPush(buckets, OutputLengthCategory.fromTokens(detail.completion_tokens), detail);
    }
    for (const [category, requests] of buckets) {
      const n = requests.length;
      const avgTokens = requests.reduce((sum, r) => sum + r.completion_tokens, 0) / n;
      const avgItl = requests.reduce((sum, r) => sum + r.itl_ms, 0) / n;
      entries.push({
        name: result.runtime_name,
        category,
        request_count: n,
        avg_output_tokens: avgTokens,
        decode_tok_s: avgItl > 0 ? 1000 / avgItl : 0,
        itl_p50_ms: avgItl,
        ...scoreAndGrade(avgItl, threshold, contract.grades),
      });
    }
  }
  entries.sort(
    (a, b) =>
      compareNames(a.name, b.name) || CATEGORY_ORDER[a.category] - CATEGORY_ORDER[b.category],
  );
  return { timestamp: now.toISOString(), entries };
}

/** The output-length card as a text table. */
export function formatOutputLengthTable(card: OutputLengthScorecard): string {
  const lines = [
    'Per-Output-Length Scores',
    '',
    `${left('Runtime', 24)} ${right('Output', 8)} ${right('Count', 8)} ${right('AvgTok', 8)} ${right('Decode', 10)} ${right('ITL', 8)} ${right('Score', 8)}`,
    '-'.repeat(80),
  ];
  for (const e of card.entries) {
    lines.push(
      `${left(e.name, 24)} ${right(OutputLengthCategory.label(e.category), 8)} ${right(e.request_count, 8)} ${right(e.avg_output_tokens, 8, 1)} ${right(e.decode_tok_s, 9, 1)} ${right(e.itl_p50_ms, 8, 1)} ${right(e.score, 5)} ${e.grade}`,
    );
  }
  return lines.join('\n');
}

/** The output-length card as markdown. */
export function formatOutputLengthMarkdown(card: OutputLengthScorecard): string {
  const lines = [
    '## Per-Output-Length Scores',
    '',
    '| Runtime | Output | Count | Avg Tokens | Decode tok/s | ITL ms | Score | Grade |',
    '|---------|--------|-------|------------|-------------|--------|-------|-------|',
  ];
  for (const e of card.entries) {
    lines.push(
      `| ${e.name} | ${OutputLengthCategory.label(e.category)} | ${e.request_count} | ${fixed(e.avg_output_tokens, 1)} | ${fixed(e.decode_tok_s, 1)} | ${fixed(e.itl_p50_ms, 1)} | ${e.score} | ${e.grade} |`,
    );
  }
  return lines.join('\n');
}
