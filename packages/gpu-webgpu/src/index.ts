import {
  type GpuDevice,
  navigatorGpu,
  type RequestGpuDeviceOptions,
  requestGpuDeviceFrom,
} from './device.js';
import { setDefaultGpuDevice } from './executor.js';
import { loadNodeGpu } from './node-gpu.js';

export * from './public.js';

setDefaultGpuDevice(requestGpuDevice);

/**
 * A WebGPU device: from `options.gpu`, else `navigator.gpu`, else Dawn through the `webgpu`
 * package. Optional features (shader-f16, subgroups, timestamp-query) are enabled when present.
 * @throws GpuUnavailableError when there is no WebGPU API, no adapter, or a required feature
 */
export async function requestGpuDevice(options: RequestGpuDeviceOptions = {}): Promise<GpuDevice> {
  const gpu = options.gpu ?? navigatorGpu() ?? (await loadNodeGpu());
  return requestGpuDeviceFrom(gpu, options);
}
