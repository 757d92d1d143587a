export type { BatcherStats } from './batcher-core.js';
export {
  BatcherClosedError,
  BatcherError,
  type BatcherErrorCode,
  BatcherOptionError,
  BatcherQueueFullError,
  BatcherResultLengthError,
  BatcherResultTypeError,
} from './errors.js';
export type {
  BatchContext,
  CostEstimatorFn,
  OnFull,
  ProcessFn,
  SubmitOptions,
  TokenBatcherOptions,
} from './options.js';
export { TokenBatcher } from './token-batcher.js';
