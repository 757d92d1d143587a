// The scheduler's contract as plain data: its options, requests, a step's plan and its results.
import type { KvGeometry } from '@x/budget';
import type { SchedulerConfig } from './scheduler-config.js';

/** How a preempted sequence gives its blocks back. */
export type PreemptionMode = 'recompute' | 'swap';

/**
 * Options of a {@link Scheduler}: the per-step budgets plus the KV-cache geometry (`@x/budget`'s
 * `KvGeometry`: `blockSize` defaults to `DEFAULT_BLOCK_SIZE`, `numHostBlocks`, blocks for swap
 * preemption, to 0, where every preemption recomputes).
 */
export interface SchedulerOptions extends Partial<SchedulerConfig>, Partial<KvGeometry> {
  /** Device KV blocks. */
  numBlocks: number;
  enablePrefixCaching?: boolean;
  /**
   * Share of the pool kept free when admitting a new prompt, so running sequences can still grow
   * (vLLM's watermark, the block manager's). Default 0.01.
   */
  watermark?: number;
  /** Default `'recompute'` (vLLM's default): free the blocks, prefill prompt + output again later. */
  preemptionMode?: PreemptionMode;
}

/** The KV cache as `Scheduler.stats` reports it. */
export interface SchedulerStats {
  numBlocks: number;
  numFreeBlocks: number;
  blockSize: number;
  /** Share of the device blocks in use, 0–1. */
  kvUsage: number;
  /** Prompt tokens looked up in the prefix cache, and of those, tokens found. */
  prefixCacheQueriedTokens: number;
  prefixCacheHitTokens: number;
}

/** A request to generate. */
export interface SchedulerRequest {
  id: number;
  promptTokens: readonly number[];
  /** Most tokens to generate. */
  maxTokens: number;
  /** Lower runs first under the `priority` policy. Default 0. */
  priority?: number;
  /** Token ids that finish the sequence (end of sequence, stop tokens). */
  stopTokenIds?: readonly number[];
  /**
   * Ids of more sequences that sample the same prompt (parallel sampling, `n` > 1, as vLLM does
   * it): the prompt is computed once, all but its last token; then each of these forks the
   * request's K/V blocks (copy-on-write) and all of them compute the last token and sample on
   * their own. Default none.
   */
  forks?: readonly number[];
}

/** One sequence's work in a step: compute tokens `[start, start + numTokens)`. */
export interface ScheduledSequence {
  seqId: number;
  /** Position of the first token computed this step (tokens before it have K/V). */
  start: number;
  numTokens: number;
  /** Where this sequence's tokens begin in the step's flattened `tokenIds` and `slotMapping`. */
  offset: number;
  /** The sequence's block table: the block manager's live array, valid for this step. */
  blockTable: readonly number[];
  /** Whether this step reaches the sequence's last token, so a token is sampled from it. */
  sample: boolean;
}

/** One step's plan, as plain data for an executor. */
export interface SchedulerOutput {
  scheduled: ScheduledSequence[];
  /** Sum of `numTokens`: at most `maxTotalTokens`. */
  numBatchedTokens: number;
  /** The token ids to compute, flattened in `scheduled` order (a prefill chunk or the last sampled token per sequence). */
  tokenIds: Int32Array;
  /** Where each of those tokens' K/V goes (`block * blockSize + offset`), in the same order. */
  slotMapping: Int32Array;
  /** Block copies (copy-on-write) to do before the step: `[src, dst]`. */
  copies: Array<[number, number]>;
  swapIn: Array<[number, number]>;
  swapOut: Array<[number, number]>;
  /** Sequences preempted this step. */
  preempted: number[];
  /** Requests rejected at admission since the previous step (also returned by `addRequest`). */
  rejected: Rejection[];
}

/** Why a request was turned away at admission. */
export interface Rejection {
  id: number;
  reason: string;
}

/** A finished sequence and everything it generated. */
export interface FinishedSequence {
  id: number;
  outputTokens: number[];
  finishReason: 'stop' | 'length';
}
