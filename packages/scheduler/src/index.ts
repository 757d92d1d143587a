export {
  DEFAULT_SCHEDULER_CONFIG,
  resolveSchedulerConfig,
  type SchedulerConfig,
  SchedulerConfigError,
  type SchedulingPolicy,
} from './scheduler-config.js';
