// The browser entry of @x/cpu-wasm: Web Workers where the page is cross-origin isolated (shared
// memory), else one thread on the page's own.
import type { ModelConfig, ModelWeights } from '@x/model';
import { browserWorkers } from './browser-workers.js';
import { type CpuWasmExecutorOptions, CpuWasmExecutor as Executor } from './executor.js';

export { CpuWasmError, type CpuWasmErrorCode } from './errors.js';
export type { CpuOpProfile, CpuWasmExecutorOptions } from './executor.js';

/** Whether this page may share memory with workers (`crossOriginIsolated`). */
export function cpuThreadsAvailable(): boolean {
  return (
    typeof SharedArrayBuffer !== 'undefined' &&
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true &&
    typeof Worker !== 'undefined'
  );
}

const platform = () => ({
  workers: cpuThreadsAvailable() ? browserWorkers : undefined,
  defaultThreads: () => globalThis.navigator?.hardwareConcurrency ?? 1,
});

/** The CPU executor in a browser; see the package README. */
export class CpuWasmExecutor extends Executor {
  /**
   * Loads `model` into the kernels' memory and starts its workers: `options.threads` (default
   * `navigator.hardwareConcurrency`) where the page is cross-origin isolated, else one thread.
   */
  static create(
    model: { config: ModelConfig; weights: ModelWeights },
    options: CpuWasmExecutorOptions,
  ): Promise<CpuWasmExecutor> {
    return CpuWasmExecutor.createOn(platform(), model, options) as Promise<CpuWasmExecutor>;
  }
}
