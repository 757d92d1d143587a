import {
  BROWSER_NO_ADAPTER_HINT,
  type GpuDevice,
  GpuUnavailableError,
  navigatorGpu,
  type RequestGpuDeviceOptions,
  requestGpuDeviceFrom,
} from './device.js';
import { setDefaultGpuDevice } from './executor.js';

export * from './public.js';

setDefaultGpuDevice(requestGpuDevice);

/**
 * A WebGPU device from `options.gpu` or `navigator.gpu` (browser build: never loads Dawn).
 * @throws GpuUnavailableError when there is no WebGPU API, no adapter, or a required feature
 */
export async function requestGpuDevice(options: RequestGpuDeviceOptions = {}): Promise<GpuDevice> {
  const gpu = options.gpu ?? navigatorGpu();
  if (!gpu) {
    throw new GpuUnavailableError('this browser exposes no navigator.gpu (WebGPU)', 'GPU_NO_API');
  }
  return requestGpuDeviceFrom(gpu, options, BROWSER_NO_ADAPTER_HINT);
}
