// The CPU executor's side of the comparison (WebAssembly SIMD kernels on two worker threads).
import { CpuWasmExecutor } from '@x/cpu-wasm';
import { loadModel } from '@x/model';
import { type AlongStep, blocksFor, greedyAlong } from './reference.js';

/** {@link greedyAlong} on the CPU executor. */
export async function cpuAlong(
  path: string,
  prompt: number[],
  theirs: readonly number[],
): Promise<AlongStep[]> {
  const model = await loadModel(path);
  const exec = await CpuWasmExecutor.create(model, {
    numBlocks: blocksFor(prompt.length + theirs.length),
    blockSize: 16,
    threads: 2,
  });
  try {
    return await greedyAlong((batch) => exec.forward(batch), prompt, theirs);
  } finally {
    await exec.dispose();
  }
}
