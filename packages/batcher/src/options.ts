import { BatcherOptionError } from './errors.js';

/** What the process function receives besides the records. */
export interface BatchContext {
  /**
   * Aborted when nobody waits for this batch any more: every record in it was aborted by its
   * caller after the batch started. A function doing costly work may stop early; its result is
   * then ignored.
   */
  readonly signal: AbortSignal;
  /** Sum of the estimated costs of the records in this batch. */
  readonly cost: number;
}

/**
 * Runs one batch: takes the records in submission order and returns one result per record, in the
 * same order (`results[i]` answers `records[i]`). May be synchronous or return a promise.
 */
export type ProcessFn<Rec, Res> = (
  records: Rec[],
  context: BatchContext,
) => readonly Res[] | PromiseLike<readonly Res[]>;

/**
 * Estimates the cost of one record (for LLM work, its token count). Should return a finite number
 * of at least 0; anything else, or a throw, counts as the default cost.
 */
export type CostEstimatorFn<Rec> = (record: Rec) => number;

/** What `submit` does when `maxQueueSize` records are pending. */
export type OnFull = 'wait' | 'reject';

/**
 * Options of {@link TokenBatcher}. Names follow the source's, camelCased; each alias pair accepts
 * one name or the other, never both.
 */
export interface TokenBatcherOptions<Rec, Res> {
  /** Alias of `processFn`. Give exactly one of the two. */
  inferenceFn?: ProcessFn<Rec, Res>;
  /** The function that runs a batch. Give exactly one of `processFn` and `inferenceFn`. */
  processFn?: ProcessFn<Rec, Res>;
  /** Alias of `costEstimator`. */
  tokenEstimator?: CostEstimatorFn<Rec>;
  /** Cost of a record when `submit` gives none. Without it every record costs the default. */
  costEstimator?: CostEstimatorFn<Rec>;
  /** Alias of `targetBatchCost`. */
  targetBatchTokens?: number;
  /** Most total cost per batch (a lone record may exceed it). Finite, > 0. Default 32000. */
  targetBatchCost?: number;
  /** Alias of `defaultCost`. */
  defaultTokenEstimate?: number;
  /** Cost of a record whose estimate is missing or fails. Finite, ≥ 0. Default 1. */
  defaultCost?: number;
  /** Most records per batch. Integer ≥ 1. Default 256. */
  maxBatchSize?: number;
  /**
   * Records needed to start a batch before its oldest record times out, when the function is
   * idle. Integer ≥ 1, ≤ `maxBatchSize` and ≤ `maxQueueSize`. Default 1.
   */
  minBatchSize?: number;
  /**
   * How long the oldest record waits, from its `submit`, before a partial batch is closed, in ms.
   * 0 to 2^31 - 1. Default 50.
   */
  batchTimeoutMs?: number;
  /** Most records pending (queued or in a prefetched batch). Integer ≥ 1. Default 5000. */
  maxQueueSize?: number;
  /** Batches closed ahead while the function runs. Integer ≥ 0. Default 2. */
  prefetchBatches?: number;
  /** What `submit` does when the queue is full; `submit` may override it. Default `'wait'`. */
  onFull?: OnFull;
}

/** Per-record options of {@link TokenBatcher.submit}. */
export interface SubmitOptions {
  /** Alias of `estimatedCost`; give one or the other, not both. */
  estimatedTokens?: number;
  /** This record's cost (finite, ≥ 0); skips the estimator. */
  estimatedCost?: number;
  /** Aborts this record: before its batch runs it leaves the batch; after, its promise rejects. */
  signal?: AbortSignal;
  /** Overrides the batcher's `onFull` for this record. */
  onFull?: OnFull;
}

/** Options with defaults applied and aliases resolved. @internal */
export interface ResolvedOptions<Rec, Res> {
  processFn: ProcessFn<Rec, Res>;
  costEstimator: CostEstimatorFn<Rec> | undefined;
  targetBatchCost: number;
  defaultCost: number;
  maxBatchSize: number;
  minBatchSize: number;
  batchTimeoutMs: number;
  maxQueueSize: number;
  prefetchBatches: number;
  onFull: OnFull;
}

/** The longest delay `setTimeout` honours, in ms (2^31 - 1). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Returns the one alias given, or throws naming both when both are. @internal */
export function pickAlias<T>(
  primary: string,
  primaryValue: T | undefined,
  alias: string,
  aliasValue: T | undefined,
): T | undefined {
  if (primaryValue !== undefined && aliasValue !== undefined) {
    throw new BatcherOptionError(
      primary,
      `give either ${primary} or ${alias} (its alias), not both`,
    );
  }
  return primaryValue ?? aliasValue;
}

function integerAtLeast(name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new BatcherOptionError(
      name,
      `${name} must be an integer of at least ${min}, got ${String(value)}`,
    );
  }
  return value;
}

function finiteAtLeast(
  name: string,
  value: unknown,
  min: number,
  exclusive: boolean,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (exclusive ? value <= min : value < min)
  ) {
    const bound = exclusive ? `greater than ${min}` : `of at least ${min}`;
    throw new BatcherOptionError(
      name,
      `${name} must be a finite number ${bound}, got ${String(value)}`,
    );
  }
  return value;
}

function optionalFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new BatcherOptionError(name, `${name} must be a function, got ${typeof value}`);
  }
  return value;
}

/**
 * Applies defaults, resolves alias pairs and checks every option.
 * @throws BatcherOptionError naming the first bad option
 * @internal
 */
export function resolveOptions<Rec, Res>(
  options: TokenBatcherOptions<Rec, Res>,
): ResolvedOptions<Rec, Res> {
  if (options === null || typeof options !== 'object') {
    throw new BatcherOptionError('options', 'options must be an object with a processFn');
  }
  const processFn = optionalFunction(
    'processFn',
    pickAlias('processFn', options.processFn, 'inferenceFn', options.inferenceFn),
  );
  if (processFn === undefined) {
    throw new BatcherOptionError('processFn', 'give a processFn (or its alias inferenceFn)');
  }
  const costEstimator = optionalFunction(
    'costEstimator',
    pickAlias('costEstimator', options.costEstimator, 'tokenEstimator', options.tokenEstimator),
  );
  const targetBatchCost = finiteAtLeast(
    'targetBatchCost',
    pickAlias(
      'targetBatchCost',
      options.targetBatchCost,
      'targetBatchTokens',
      options.targetBatchTokens,
    ),
    0,
    true,
    32_000,
  );
  const defaultCost = finiteAtLeast(
    'defaultCost',
    pickAlias(
      'defaultCost',
      options.defaultCost,
      'defaultTokenEstimate',
      options.defaultTokenEstimate,
    ),
    0,
    false,
    1,
  );
  const maxBatchSize = integerAtLeast('maxBatchSize', options.maxBatchSize, 1, 256);
  const minBatchSize = integerAtLeast('minBatchSize', options.minBatchSize, 1, 1);
  const maxQueueSize = integerAtLeast('maxQueueSize', options.maxQueueSize, 1, 5000);
  const prefetchBatches = integerAtLeast('prefetchBatches', options.prefetchBatches, 0, 2);
  const batchTimeoutMs = finiteAtLeast('batchTimeoutMs', options.batchTimeoutMs, 0, false, 50);
  if (batchTimeoutMs > MAX_TIMEOUT_MS) {
    throw new BatcherOptionError(
      'batchTimeoutMs',
      `batchTimeoutMs must be at most ${MAX_TIMEOUT_MS} (setTimeout's limit), got ${batchTimeoutMs}`,
    );
  }
  if (minBatchSize > maxBatchSize) {
    throw new BatcherOptionError(
      'minBatchSize',
      `minBatchSize (${minBatchSize}) must not exceed maxBatchSize (${maxBatchSize})`,
    );
  }
  if (minBatchSize > maxQueueSize) {
    throw new BatcherOptionError(
      'minBatchSize',
      `minBatchSize (${minBatchSize}) must not exceed maxQueueSize (${maxQueueSize})`,
    );
  }
  const onFull = options.onFull ?? 'wait';
  if (onFull !== 'wait' && onFull !== 'reject') {
    throw new BatcherOptionError(
      'onFull',
      `onFull must be 'wait' or 'reject', got ${String(onFull)}`,
    );
  }
  return {
    processFn,
    costEstimator,
    targetBatchCost,
    defaultCost,
    maxBatchSize,
    minBatchSize,
    batchTimeoutMs,
    maxQueueSize,
    prefetchBatches,
    onFull,
  };
}
