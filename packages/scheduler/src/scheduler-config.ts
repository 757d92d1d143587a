/** How the waiting queue is ordered. */
export type SchedulingPolicy = 'fcfs' | 'priority';

/**
 * Per-step budgets of the scheduler. Field names and defaults are those of the source's
 * `EngineConfig` (block size and block count belong to the KV cache, not here).
 */
export interface SchedulerConfig {
  /** Most sequences in one step's batch. Default 32. */
  maxBatchSize: number;
  /** Most sequences alive at once (running + swapped). Default 256. */
  maxNumSeqs: number;
  /** Longest context (prompt + output tokens) a sequence may reach. Default 2048. */
  maxModelLen: number;
  /** Most tokens (prefill + decode) one step may compute. Default 4096. */
  maxTotalTokens: number;
  /** KV usage fraction above which no new prefill is admitted, in (0, 1]. Default 0.9. */
  memoryThreshold: number;
  /** Waiting-queue order. Default `'fcfs'`. */
  policy: SchedulingPolicy;
}

/** The source's defaults. */
export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  maxBatchSize: 32,
  maxNumSeqs: 256,
  maxModelLen: 2048,
  maxTotalTokens: 4096,
  memoryThreshold: 0.9,
  policy: 'fcfs',
});

/** A scheduler configuration that is out of range; `field` names the offending field. */
export class SchedulerConfigError extends Error {
  override readonly name = 'SchedulerConfigError';
  readonly code = 'SCHEDULER_INVALID_CONFIG';
  readonly field: keyof SchedulerConfig;

  constructor(field: keyof SchedulerConfig, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

const INTEGER_FIELDS = ['maxBatchSize', 'maxNumSeqs', 'maxModelLen', 'maxTotalTokens'] as const;

/**
 * Fills defaults into a partial configuration and checks every field.
 * @throws SchedulerConfigError naming the first field that is out of range
 */
export function resolveSchedulerConfig(partial: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const config: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  for (const field of INTEGER_FIELDS) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) {
      throw new SchedulerConfigError(field, `must be a positive integer, got ${String(value)}`);
    }
  }
  const { memoryThreshold, policy } = config;
  if (typeof memoryThreshold !== 'number' || !(memoryThreshold > 0 && memoryThreshold <= 1)) {
    throw new SchedulerConfigError(
      'memoryThreshold',
      `must be in (0, 1], got ${String(memoryThreshold)}`,
    );
  }
  if (policy !== 'fcfs' && policy !== 'priority') {
    throw new SchedulerConfigError('policy', `must be 'fcfs' or 'priority', got ${String(policy)}`);
  }
  if (config.maxBatchSize > config.maxNumSeqs) {
    throw new SchedulerConfigError(
      'maxBatchSize',
      `${config.maxBatchSize} exceeds maxNumSeqs ${config.maxNumSeqs}`,
    );
  }
  return config;
}
