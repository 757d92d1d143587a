export {
  type FinishedSequence,
  type PreemptionMode,
  type Rejection,
  type ScheduledSequence,
  Scheduler,
  SchedulerError,
  type SchedulerErrorCode,
  type SchedulerOptions,
  type SchedulerOutput,
  type SchedulerRequest,
} from './scheduler.js';
export {
  DEFAULT_SCHEDULER_CONFIG,
  resolveSchedulerConfig,
  type SchedulerConfig,
  SchedulerConfigError,
  type SchedulingPolicy,
} from './scheduler-config.js';
