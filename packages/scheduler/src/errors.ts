import type { SchedulerConfig } from './scheduler-config.js';

/** Stable codes of {@link SchedulerError}. */
export type SchedulerErrorCode =
  | 'SCHEDULER_UNKNOWN_SEQUENCE'
  | 'SCHEDULER_DUPLICATE_SEQUENCE'
  | 'SCHEDULER_NOT_RUNNING'
  | 'SCHEDULER_BAD_FORK'
  | 'SCHEDULER_TOO_MANY_SEQUENCES'
  | 'SCHEDULER_MISSING_TOKEN';

/** A misuse of the scheduler. The call that threw changed nothing. */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';
  readonly code: SchedulerErrorCode;

  constructor(message: string, code: SchedulerErrorCode) {
    super(message);
    this.code = code;
  }
}

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
