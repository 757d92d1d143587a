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

export { SchedulerConfigError } from './scheduler-config.js';
