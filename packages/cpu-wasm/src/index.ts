// The Node entry of @x/cpu-wasm: the executor with worker_threads.
import { availableParallelism } from 'node:os';
import type { ModelConfig, ModelWeights } from '@x/model';
import { type CpuWasmExecutorOptions, CpuWasmExecutor as Executor } from './executor.js';
import { nodeWorkers } from './node-workers.js';

export { CpuWasmError, type CpuWasmErrorCode } from './errors.js';
export type { CpuOpProfile, CpuWasmExecutorOptions } from './executor.js';

/** Node's platform: worker_threads, and as many threads as the machine has cores. */
const NODE = { workers: nodeWorkers, defaultThreads: () => availableParallelism() };

/**
 * The CPU executor (WebAssembly SIMD on worker threads); see the package README.
 */
export class CpuWasmExecutor extends Executor {
  /**
   * Loads `model` into the kernels' memory and starts `options.threads` workers (default: the
   * machine's cores).
   * @throws CpuWasmError when the model does not fit wasm32's 4 GiB, has a weight type without a
   *   kernel, or the workers cannot start
   */
  static create(
    model: { config: ModelConfig; weights: ModelWeights },
    options: CpuWasmExecutorOptions,
  ): Promise<CpuWasmExecutor> {
    return CpuWasmExecutor.createOn(NODE, model, options) as Promise<CpuWasmExecutor>;
  }
}
