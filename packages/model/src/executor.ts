import type { KvGeometry } from '@x/budget';
import type { ModelConfig } from './config.js';

/** Most entries a {@link SamplingParams.logitBias} may hold (OpenAI's limit). */
export const MAX_LOGIT_BIAS = 300;

/**
 * How one sequence's next token is drawn. Defaults follow vLLM and the OpenAI API: temperature 1,
 * no top-k/top-p/min-p filtering, no penalties. Filters apply in the order penalties → temperature
 * → top-k → top-p → min-p.
 */
export interface SamplingParams {
  /** 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 or -1 keeps all. Default 0. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p. Default 1. */
  topP?: number;
  /** Drop tokens less likely than `minP` × the most likely one. Default 0. */
  minP?: number;
  /** Divides positive logits (multiplies negative ones) of tokens seen in prompt or output. Default 1. */
  repetitionPenalty?: number;
  /** Subtracted once from logits of tokens in the output so far. Default 0. */
  presencePenalty?: number;
  /** Subtracted per occurrence from logits of tokens in the output so far. Default 0. */
  frequencyPenalty?: number;
  /**
   * Added to the logits of these token ids before the penalties (OpenAI's and vLLM's
   * `logit_bias`): values in [-100, 100], at most {@link MAX_LOGIT_BIAS} entries. Default none.
   */
  logitBias?: ReadonlyMap<number, number>;
  /**
   * Seed for this sequence: the same seed, prompt and parameters give the same tokens, whatever
   * else shares the batch. Unseeded sequences draw from `Math.random`.
   */
  seed?: number;
  /** Return the log-probability of the sampled token and of this many most likely tokens (0–20). */
  logprobs?: number;
  /**
   * The tokens this sequence may sample, as a bitmask: token `i` is allowed when bit `i & 31` of
   * word `i >> 5` is set (xgrammar's layout; `ceil(vocabSize / 32)` words, at least one allowed
   * token in the vocabulary). Every other token's logit becomes −∞ before the bias, penalties,
   * temperature and top-k/top-p/min-p, so no draw and no greedy pick can leave the mask (what
   * grammar-constrained decoding needs). Log-probabilities stay those of the raw logits, as vLLM
   * reports them. Default: every token.
   */
  allowedTokens?: Int32Array | Uint32Array;
}

/** One sequence's slice of a {@link ForwardBatch}. */
export interface ForwardSequence {
  /** The caller's sequence id (opaque to the executor). */
  seqId: number;
  /** Position of the first token computed in this batch: tokens before it already have K/V. */
  start: number;
  /** Tokens computed for this sequence in this batch (a prefill chunk, or 1 for a decode). */
  numTokens: number;
  /** Where this sequence's tokens begin in the batch's flattened arrays. */
  offset: number;
  /**
   * Physical KV blocks holding positions `[0, start + numTokens)`: position p lives in block
   * `blockTable[p / blockSize]` at offset `p % blockSize`.
   */
  blockTable: ArrayLike<number>;
  /** Whether to sample a token from this sequence's last position. */
  sample: boolean;
  /** How to sample, when `sample` is true. */
  sampling?: SamplingParams;
  /** Prompt token ids (for the repetition penalty). */
  promptTokenIds?: ArrayLike<number>;
  /** Tokens generated so far (for penalties and per-sequence seeded draws). */
  outputTokenIds?: ArrayLike<number>;
}

/**
 * One step of work for an executor: a mixed batch of prefill chunks and decodes, as plain data.
 * `tokenIds`, `positions` and `slotMapping` are flattened over `sequences` in order; sequence s
 * owns entries `[s.offset, s.offset + s.numTokens)`.
 */
export interface ForwardBatch {
  tokenIds: Int32Array;
  /** Position of each token in its sequence. */
  positions: Int32Array;
  /** KV slot (`block * blockSize + offset`) each token's K/V is written to. */
  slotMapping: Int32Array;
  sequences: readonly ForwardSequence[];
  /** Block copies to do before computing (copy-on-write after a fork): `[src, dst]`. */
  copies?: ReadonlyArray<readonly [number, number]>;
  /** Blocks to move from device to host before computing: `[deviceBlock, hostBlock]`. */
  swapOut?: ReadonlyArray<readonly [number, number]>;
  /** Blocks to move from host to device before computing: `[hostBlock, deviceBlock]`. */
  swapIn?: ReadonlyArray<readonly [number, number]>;
}

/** Log-probabilities of one sampled position. */
export interface TokenLogprobs {
  /** Log-probability of the sampled token under the model's distribution (before filtering). */
  logprob: number;
  /** The most likely tokens and their log-probabilities, most likely first. */
  top: Array<{ tokenId: number; logprob: number }>;
}

/** What an executor returns for a {@link ForwardBatch}. */
export interface ForwardResult {
  /** One token per sequence with `sample: true`, in batch order. */
  tokens: Int32Array;
  /** Per sampled sequence, when its `sampling.logprobs` was set. */
  logprobs: Array<TokenLogprobs | undefined>;
}

/** The KV cache an executor holds, in blocks (`@x/budget`'s {@link KvGeometry}). */
export type KvCacheShape = KvGeometry;

/**
 * Runs a model over {@link ForwardBatch}es. The scheduler decides what to compute and where its
 * K/V goes; an executor writes each token's K/V to its slot, attends over each sequence's blocks,
 * and samples one token per sequence that asks for one.
 *
 * To write one: hold `kvCache.numBlocks` blocks of `blockSize` slots per layer for K and V; for
 * each batch, apply `copies`/`swapOut`/`swapIn`, then compute every token, write K/V at
 * `slotMapping`, and for each sequence with `sample` produce logits at its last token and sample
 * them with its `sampling` (see `sampleLogits`, the reference sampler).
 * `ReferenceExecutor` is the plain-TypeScript reference; its outputs are the oracle.
 */
export interface ModelExecutor {
  readonly config: ModelConfig;
  readonly kvCache: KvCacheShape;
  /**
   * Computes one batch.
   * @throws ExecutorError when the batch is malformed (the cache is unchanged)
   */
  execute(batch: ForwardBatch, options?: { signal?: AbortSignal }): Promise<ForwardResult>;
  /** Releases memory and device resources. */
  dispose(): Promise<void>;
}

/** Stable codes of {@link ExecutorError}. */
export type ExecutorErrorCode = 'EXECUTOR_BAD_BATCH' | 'EXECUTOR_DISPOSED' | 'EXECUTOR_ABORTED';

/** A batch an executor cannot run, or an executor used after `dispose`. */
export class ExecutorError extends Error {
  override readonly name = 'ExecutorError';
  readonly code: ExecutorErrorCode;
  constructor(message: string, code: ExecutorErrorCode) {
    super(message);
    this.code = code;
  }
}

/** One sequence's step, for {@link sequenceBatch}. */
export interface SequenceStep {
  seqId?: number;
  /** Tokens to compute this step. */
  tokenIds: ArrayLike<number>;
  /** Position of the first of them (tokens already cached before it). */
  start: number;
  blockTable: ArrayLike<number>;
  blockSize: number;
  /** Sample after the last token. Default true. */
  sample?: boolean;
  sampling?: SamplingParams;
  promptTokenIds?: ArrayLike<number>;
  outputTokenIds?: ArrayLike<number>;
}

/**
 * A {@link ForwardBatch} from per-sequence steps, with positions and slot mapping derived from each
 * block table: the shape a scheduler produces, for callers that drive an executor directly.
 */
export function sequenceBatch(...steps: SequenceStep[]): ForwardBatch {
  const total = steps.reduce((n, s) => n + s.tokenIds.length, 0);
  const tokenIds = new Int32Array(total);
  const positions = new Int32Array(total);
  const slotMapping = new Int32Array(total);
  let offset = 0;
  const sequences = steps.map((s, i): ForwardSequence => {
    for (let j = 0; j < s.tokenIds.length; j++) {
      const pos = s.start + j;
      tokenIds[offset + j] = s.tokenIds[j] as number;
      positions[offset + j] = pos;
      slotMapping[offset + j] =
        (s.blockTable[Math.floor(pos / s.blockSize)] ?? -1) * s.blockSize + (pos % s.blockSize);
    }
    const seq: ForwardSequence = {
      seqId: s.seqId ?? i,
      start: s.start,
      numTokens: s.tokenIds.length,
      offset,
      blockTable: s.blockTable,
      sample: s.sample ?? true,
      sampling: s.sampling,
      promptTokenIds: s.promptTokenIds,
      outputTokenIds: s.outputTokenIds,
    };
    offset += s.tokenIds.length;
    return seq;
  });
  return { tokenIds, positions, slotMapping, sequences };
}
