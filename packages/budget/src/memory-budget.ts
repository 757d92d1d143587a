import {
  assertNonNegativeFinite,
  assertPositiveFinite,
  assertPositiveInteger,
  assertSafeBytes,
} from './assert.js';
import { type AttentionShape, type KvDtype, kvBytesPerToken } from './kv-bytes.js';
import { DEFAULT_BLOCK_SIZE } from './kv-geometry.js';

/** Bytes in one MB as this package counts it: a mebibyte, 1024 × 1024 bytes. */
const BYTES_PER_MB = 1_048_576;

/**
 * Bytes needed to hold `exact` bytes, an integer: rounded up, since half a byte still takes one.
 *
 * Products such as `7e9 × 4.85 / 8` come out as 4243749999.9999995 in binary floating point, so a
 * value within a relative 1e-12 of an integer snaps to it instead of rounding up past it.
 */
function bytesNeeded(exact: number): number {
  const nearest = Math.round(exact);
  return Math.abs(exact - nearest) <= Math.abs(exact) * 1e-12 ? nearest : Math.ceil(exact);
}

/** `⌊a / b⌋` for safe integers, exact where `Math.floor(a / b)` could round across an integer. */
function floorDiv(a: number, b: number): number {
  return Number(BigInt(a) / BigInt(b));
}

/** How the runtime overhead is sized; see {@link MemoryBudget} for the rule. */
export interface MemoryBudgetOptions {
  /**
   * Fixed part of the runtime overhead, in MB (MiB). Finite, ≥ 0; default
   * {@link MemoryBudget.DEFAULT_OVERHEAD_FLOOR_MB} (512).
   */
  readonly overheadFloorMb?: number;
  /**
   * Part of the runtime overhead that grows with the model, as a share of the weight bytes.
   * Finite, ≥ 0; default {@link MemoryBudget.DEFAULT_OVERHEAD_FRACTION} (0.1).
   */
  readonly overheadFraction?: number;
}

/** A model as {@link MemoryBudget.forModel} needs it: its attention shape and parameter count. */
export interface ModelConfig extends AttentionShape {
  /** Total parameters (weights) of the model, an integer ≥ 1, e.g. `8_030_261_248`. */
  readonly params: number;
}

/** The deployment {@link MemoryBudget.forModel} sizes a model for. */
export interface ForModelOptions extends MemoryBudgetOptions {
  /** Memory the deployment may use, in MB (MiB). Finite, > 0. */
  readonly totalAvailableMb: number;
  /** Average bits per weight of the quantisation, e.g. 16 (f16), 8.5 (Q8_0), 4.5 (Q4_0). > 0. */
  readonly bitsPerWeight: number;
  /** Element type of the KV cache; default `'f16'`. */
  readonly kvDtype?: KvDtype;
  /**
   * Tokens per KV block of a paged cache (vLLM's `block_size`), an integer ≥ 1; default
   * {@link MemoryBudget.DEFAULT_BLOCK_SIZE} (16).
   */
  readonly blockSize?: number;
}

/**
 * How a memory budget splits between model weights, runtime overhead and the KV cache.
 *
 * All figures are integers in bytes; 1 MB is 1024 × 1024 bytes (a MiB, as llama.cpp and
 * `nvidia-smi` report memory). Sizes the deployment needs round up; capacities (total memory,
 * tokens, blocks, sequences) round down, so the estimate never promises more than there is.
 *
 * - `modelWeightBytes = ⌈modelParams × bitsPerWeight / 8⌉`.
 * - `runtimeOverhead = overheadFloorMb MiB + ⌈overheadFraction × modelWeightBytes⌉`, by default
 *   **512 MiB + 10 % of the weights**. The floor covers what does not scale with the model: the
 *   GPU context (CUDA, Metal or Vulkan: a few hundred MiB) and llama.cpp's compute buffers at the
 *   default 512-token batch (typically 100–500 MiB). The fraction covers what does: activation
 *   and dequantisation scratch that grow with the hidden size, and allocator fragmentation. It is
 *   the same order of headroom vLLM keeps by default (`gpu_memory_utilization = 0.9`). Both parts
 *   are options, for runtimes that measure their own overhead.
 * - `availableBytes = totalSystemBytes − modelWeightBytes − runtimeOverhead`, and all of it is the
 *   `kvCacheBudget`, as vLLM gives every byte left after weights and activations to KV blocks.
 *
 * When weights and overhead do not fit, the budget says so rather than going negative: `fits` is
 * `false`, `shortfallBytes` is how much more memory is needed, and `availableBytes` and
 * `kvCacheBudget` are 0. Nothing is thrown for a model that does not fit.
 *
 * Budgets are immutable plain data (`JSON.stringify` gives every field).
 *
 * @example
 * ```ts
 * const budget = MemoryBudget.estimate(16_384, 7_000_000_000, 4.5); // 7B at 4.5 bits in 16 GiB
 * budget.modelWeightBytes; // 3937500000
 * budget.runtimeOverhead; // 930620912 (512 MiB + 393750000)
 * budget.kvCacheBudget; // 12311748272
 * budget.maxContextLength(32, 32, 128); // 23482 tokens at FP16
 * ```
 */
export class MemoryBudget {
  /** Bytes in one MB: 1 048 576 (a mebibyte). */
  static readonly BYTES_PER_MB = BYTES_PER_MB;
  /** Default fixed part of the runtime overhead: 512 MiB. */
  static readonly DEFAULT_OVERHEAD_FLOOR_MB = 512;
  /** Default part of the runtime overhead that scales with the model: 10 % of the weight bytes. */
  static readonly DEFAULT_OVERHEAD_FRACTION = 0.1;
  /** Default tokens per KV block: 16, vLLM's default `block_size`. */
  static readonly DEFAULT_BLOCK_SIZE = DEFAULT_BLOCK_SIZE;

  /** Total memory the deployment may use, in bytes (`⌊totalAvailableMb × 1 048 576⌋`). */
  readonly totalSystemBytes: number;
  /** Bytes left after model weights and runtime overhead; 0 when they do not fit. */
  readonly availableBytes: number;
  /** Model weight footprint, in bytes. */
  readonly modelWeightBytes: number;
  /** Bytes earmarked for the KV cache: all of `availableBytes`. */
  readonly kvCacheBudget: number;
  /** Estimated runtime overhead (GPU context, compute buffers, activations), in bytes. */
  readonly runtimeOverhead: number;
  /** Whether model weights and runtime overhead fit in `totalSystemBytes`. */
  readonly fits: boolean;
  /** Bytes missing for weights and overhead to fit; 0 when `fits`. */
  readonly shortfallBytes: number;

  /**
   * Same as {@link MemoryBudget.estimate}.
   * @throws RangeError as {@link MemoryBudget.estimate} does
   */
  constructor(
    totalAvailableMb: number,
    modelParams: number,
    bitsPerWeight: number,
    options: MemoryBudgetOptions = {},
  ) {
    assertPositiveFinite('totalAvailableMb', totalAvailableMb);
    assertPositiveInteger('modelParams', modelParams);
    assertPositiveFinite('bitsPerWeight', bitsPerWeight);
    const {
      overheadFloorMb = MemoryBudget.DEFAULT_OVERHEAD_FLOOR_MB,
      overheadFraction = MemoryBudget.DEFAULT_OVERHEAD_FRACTION,
    } = options;
    assertNonNegativeFinite('overheadFloorMb', overheadFloorMb);
    assertNonNegativeFinite('overheadFraction', overheadFraction);

    const totalSystemBytes = Math.floor(totalAvailableMb * BYTES_PER_MB);
    assertSafeBytes('totalAvailableMb', totalSystemBytes);
    const modelWeightBytes = bytesNeeded((modelParams * bitsPerWeight) / 8);
    assertSafeBytes('modelParams × bitsPerWeight', modelWeightBytes);
    const runtimeOverhead =
      bytesNeeded(overheadFloorMb * BYTES_PER_MB) +
      bytesNeeded(overheadFraction * modelWeightBytes);
    assertSafeBytes('overheadFloorMb + overheadFraction', runtimeOverhead);
    const requiredBytes = modelWeightBytes + runtimeOverhead;
    assertSafeBytes('modelParams × bitsPerWeight + overhead', requiredBytes);

    this.totalSystemBytes = totalSystemBytes;
    this.modelWeightBytes = modelWeightBytes;
    this.runtimeOverhead = runtimeOverhead;
    this.fits = requiredBytes <= totalSystemBytes;
    this.shortfallBytes = Math.max(0, requiredBytes - totalSystemBytes);
    this.availableBytes = Math.max(0, totalSystemBytes - requiredBytes);
    this.kvCacheBudget = this.availableBytes;
    // A subclass adds fields after this constructor returns, so it freezes itself.
    if (new.target === MemoryBudget) Object.freeze(this);
  }

  /**
   * Splits `totalAvailableMb` between weights, runtime overhead and the KV cache.
   *
   * @param totalAvailableMb memory the deployment may use, in MB (MiB); finite, > 0
   * @param modelParams total parameters of the model, an integer ≥ 1
   * @param bitsPerWeight average bits per weight of the quantisation (e.g. 1.125 for Q1_0, 4.5
   *   for Q4_0, 16 for f16); finite, > 0
   * @param options overhead floor (MiB, default 512) and fraction of the weights (default 0.1)
   * @returns the budget; `fits: false` with a `shortfallBytes` when the model does not fit
   * @throws RangeError naming the argument when it is not finite, not positive, `modelParams` is
   *   not an integer, an overhead option is negative, or a byte count passes
   *   `Number.MAX_SAFE_INTEGER`
   */
  static estimate(
    totalAvailableMb: number,
    modelParams: number,
    bitsPerWeight: number,
    options?: MemoryBudgetOptions,
  ): MemoryBudget {
    return new MemoryBudget(totalAvailableMb, modelParams, bitsPerWeight, options);
  }

  /**
   * A budget for a model config: the split of {@link MemoryBudget.estimate}, plus KV bytes per
   * token for the model's own KV heads (grouped-query attention) and KV dtype, and the tokens,
   * paged KV blocks and concurrent sequences the KV budget holds.
   *
   * @example
   * ```ts
   * const llama3_8b = { numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128,
   *   params: 8_030_261_248 };
   * const budget = MemoryBudget.forModel(llama3_8b, {
   *   totalAvailableMb: 24_576, // 24 GiB
   *   bitsPerWeight: 4.5,
   * });
   * budget.kvBytesPerToken; // 131072 (f16, 8 KV heads)
   * budget.maxTokens; // 154603
   * budget.numKvBlocks; // 9662 blocks of 16 tokens
   * budget.maxConcurrentSequences(8192); // 18
   * ```
   *
   * @param config layers, heads, KV heads, head dimension and parameter count of the model
   * @param options memory (MiB), bits per weight, KV dtype (default `'f16'`), block size (default
   *   16) and overhead options
   * @throws RangeError naming the field when a number is not finite, not positive or not an
   *   integer where a count is expected, when `numKvHeads` does not divide `numHeads`, or when
   *   `kvDtype` is unknown
   */
  static forModel(config: ModelConfig, options: ForModelOptions): ModelMemoryBudget {
    return new ModelMemoryBudget(config, options);
  }

  /**
   * Maximum context length, in tokens, whose KV cache fits in `kvCacheBudget`, as the source
   * defines it: FP16 elements and as many KV heads as query heads, so
   * `2 (K and V) × numLayers × numHeads × headDim × 2 bytes` per token. For grouped-query attention
   * or another KV dtype, use {@link MemoryBudget.forModel} or {@link kvBytesPerToken}.
   *
   * @returns `⌊kvCacheBudget / bytesPerToken⌋`, 0 when the model does not fit
   * @throws RangeError naming the argument when it is not an integer ≥ 1
   */
  maxContextLength(numLayers: number, numHeads: number, headDim: number): number {
    return floorDiv(this.kvCacheBudget, kvBytesPerToken({ numLayers, numHeads, headDim }, 'f16'));
  }
}

/**
 * A {@link MemoryBudget} for one model and KV layout, made by {@link MemoryBudget.forModel}: the
 * numbers a paged KV-cache manager is configured with.
 */
export class ModelMemoryBudget extends MemoryBudget {
  /** Element type of the KV cache. */
  readonly kvDtype: KvDtype;
  /** KV cache bytes per token across all layers, for the model's KV heads and `kvDtype`. */
  readonly kvBytesPerToken: number;
  /** Tokens whose KV cache fits in `kvCacheBudget`: `⌊kvCacheBudget / kvBytesPerToken⌋`. */
  readonly maxTokens: number;
  /** Tokens per KV block. */
  readonly blockSize: number;
  /** Bytes of one KV block: `blockSize × kvBytesPerToken`. */
  readonly kvBlockBytes: number;
  /** Whole KV blocks that fit in `kvCacheBudget`: `⌊kvCacheBudget / kvBlockBytes⌋`. */
  readonly numKvBlocks: number;

  /**
   * Same as {@link MemoryBudget.forModel}.
   * @throws RangeError as {@link MemoryBudget.forModel} does
   */
  constructor(config: ModelConfig, options: ForModelOptions) {
    // Checked here first so the error names the config's field, not estimate's `modelParams`.
    assertPositiveInteger('params', config.params);
    super(options.totalAvailableMb, config.params, options.bitsPerWeight, options);
    const { kvDtype = 'f16', blockSize = MemoryBudget.DEFAULT_BLOCK_SIZE } = options;
    assertPositiveInteger('blockSize', blockSize);
    const bytesPerToken = kvBytesPerToken(config, kvDtype);
    const kvBlockBytes = blockSize * bytesPerToken;
    assertSafeBytes('blockSize × kvBytesPerToken', kvBlockBytes);

    this.kvDtype = kvDtype;
    this.kvBytesPerToken = bytesPerToken;
    this.maxTokens = floorDiv(this.kvCacheBudget, bytesPerToken);
    this.blockSize = blockSize;
    this.kvBlockBytes = kvBlockBytes;
    this.numKvBlocks = floorDiv(this.kvCacheBudget, kvBlockBytes);
    if (new.target === ModelMemoryBudget) Object.freeze(this);
  }

  /**
   * How many sequences of `contextLength` tokens can hold their whole KV cache at once. Each
   * sequence takes `⌈contextLength / blockSize⌉` whole blocks, as a paged KV cache allocates.
   *
   * @param contextLength tokens per sequence (prompt and generated), an integer ≥ 1
   * @returns `⌊numKvBlocks / ⌈contextLength / blockSize⌉⌋`, 0 when not even one fits
   * @throws RangeError naming `contextLength` when it is not an integer ≥ 1
   */
  maxConcurrentSequences(contextLength: number): number {
    assertPositiveInteger('contextLength', contextLength);
    return floorDiv(this.numKvBlocks, Math.ceil(contextLength / this.blockSize));
  }
}
