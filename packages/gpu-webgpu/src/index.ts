import {
  BROWSER_NO_ADAPTER_HINT,
  type GpuDevice,
  NODE_NO_ADAPTER_HINT,
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
  const page = options.gpu ?? navigatorGpu();
  const gpu = page ?? (await loadNodeGpu());
  // A `navigator.gpu` in a page (not Deno's) gets the browser's advice; Dawn the driver's.
  const inPage =
    page !== undefined && typeof (globalThis as { document?: unknown }).document === 'object';
  return requestGpuDeviceFrom(
    gpu,
    options,
    inPage ? BROWSER_NO_ADAPTER_HINT : NODE_NO_ADAPTER_HINT,
  );
}
