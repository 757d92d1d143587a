// The surface both entry points (Node and browser) share; each adds its own `requestGpuDevice`.
export {
  BROWSER_NO_ADAPTER_HINT,
  type GpuAdapterSummary,
  type GpuDevice,
  type GpuUnavailableCode,
  GpuUnavailableError,
  NODE_NO_ADAPTER_HINT,
  OPTIONAL_FEATURES,
  type RequestGpuDeviceOptions,
  requestGpuDeviceFrom,
} from './device.js';
export {
  GpuExecutorError,
  type GpuExecutorErrorCode,
  GpuSamplerError,
  type GpuSamplerErrorCode,
} from './errors.js';
export {
  type KernelTiming,
  WebGpuExecutor,
  type WebGpuExecutorInfo,
  type WebGpuExecutorOptions,
} from './executor.js';
export { GPU_WEIGHT_TYPES } from './kernels/weights.js';
