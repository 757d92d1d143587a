import { GpuUnavailableError } from './device.js';

let nodeGpu: Promise<GPU> | undefined;

/**
 * The `GPU` of Dawn's Node bindings (the `webgpu` package), created once per process. WebGPU's
 * global constants (`GPUBufferUsage`, `GPUMapMode`, …) are installed where the runtime lacks them,
 * so code written for browsers runs unchanged.
 * @throws GpuUnavailableError `GPU_NO_API` when the `webgpu` package cannot be loaded
 */
export function loadNodeGpu(): Promise<GPU> {
  nodeGpu ??= import('webgpu').then(
    ({ create, globals }) => {
      for (const [name, value] of Object.entries(globals)) {
        if (!(name in globalThis))
          Object.defineProperty(globalThis, name, { value, writable: true });
      }
      return create([]);
    },
    (cause: unknown) => {
      nodeGpu = undefined;
      throw new GpuUnavailableError(
        `Dawn's Node bindings (the webgpu package) could not be loaded: ${String(cause)}`,
        'GPU_NO_API',
        { cause },
      );
    },
  );
  return nodeGpu;
}
