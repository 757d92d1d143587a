export { SchedulerConfigError, SchedulerError, type SchedulerErrorCode } from './errors.js';
export {
  type FinishedSequence,
  type PreemptionMode,
  type Rejection,
  type ScheduledSequence,
  Scheduler,
  type SchedulerOptions,
  type SchedulerOutput,
  type SchedulerRequest,
  type SchedulerStats,
} from './scheduler.js';
export {
  DEFAULT_SCHEDULER_CONFIG,
  resolveSchedulerConfig,
  type SchedulerConfig,
  type SchedulingPolicy,
} from './scheduler-config.js';
