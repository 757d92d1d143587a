import { DEFAULT_BLOCK_SIZE } from '@x/budget';
import { resolveSchedulerConfig, type SchedulerConfig, SchedulerConfigError } from '@x/scheduler';

/**
 * The source's `EngineConfig`: the KV-cache geometry plus the scheduler's per-step budgets.
 * Defaults: block size 16, 1024 blocks, batch 32, 256 sequences, max model length 2048,
 * 4096 tokens per step, memory threshold 0.9.
 */
export interface EngineConfig extends SchedulerConfig {
  /** Tokens per physical KV block. Default `DEFAULT_BLOCK_SIZE` (16). */
  blockSize: number;
  /** Physical KV blocks in the device pool. Default 1024. */
  maxNumBlocks: number;
}

/** The option an {@link EngineConfigError} names: a config field or another engine option. */
export type EngineConfigField =
  | keyof EngineConfig
  | 'chatTemplate'
  | 'kvCacheDtype'
  | 'maxWaitingRequests'
  | 'model'
  | 'executor'
  | 'threads';

/** An engine configuration that is out of range; `field` names the offending field. */
export class EngineConfigError extends Error {
  override readonly name = 'EngineConfigError';
  readonly code = 'ENGINE_INVALID_CONFIG';
  readonly field: EngineConfigField;

  constructor(field: EngineConfigField, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

/**
 * Fills the source's defaults into a partial configuration and checks every field, including
 * that one sequence of `maxModelLen` tokens fits in the block pool.
 * @param options.checkPool false leaves out the pool check, for callers that size the pool later
 * @throws EngineConfigError naming the first field that is out of range
 */
export function resolveEngineConfig(
  partial: Partial<EngineConfig> = {},
  { checkPool = true }: { checkPool?: boolean } = {},
): EngineConfig {
  const { blockSize = DEFAULT_BLOCK_SIZE, maxNumBlocks = 1024, ...schedulerPart } = partial;
  for (const [field, value] of [
    ['blockSize', blockSize],
    ['maxNumBlocks', maxNumBlocks],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new EngineConfigError(field, `must be a positive integer, got ${String(value)}`);
    }
  }
  let scheduler: SchedulerConfig;
  try {
    scheduler = resolveSchedulerConfig(schedulerPart);
  } catch (error) {
    if (error instanceof SchedulerConfigError) {
      throw new EngineConfigError(error.field, error.message.slice(error.field.length + 2), {
        cause: error,
      });
    }
    throw error;
  }
  const config = { blockSize, maxNumBlocks, ...scheduler };
  if (checkPool) assertPoolHoldsOneSequence(config);
  return config;
}

/**
 * Checks that one sequence of `maxModelLen` tokens fits in the block pool.
 * @param why what sized the pool, for the message
 * @throws EngineConfigError naming `maxNumBlocks`
 */
export function assertPoolHoldsOneSequence(
  config: Pick<EngineConfig, 'blockSize' | 'maxNumBlocks' | 'maxModelLen'>,
  why = '',
): void {
  const { blockSize, maxNumBlocks, maxModelLen } = config;
  if (Math.ceil(maxModelLen / blockSize) > maxNumBlocks) {
    throw new EngineConfigError(
      'maxNumBlocks',
      `${maxNumBlocks} blocks of ${blockSize} tokens${why} hold ${maxNumBlocks * blockSize} tokens, ` +
        `less than one sequence of maxModelLen ${maxModelLen}`,
    );
  }
}
