// The WebGPU executor's side of the comparison, on the machine's adapter (lavapipe without a GPU).
import { requestGpuDevice, WebGpuExecutor } from '@x/gpu-webgpu';
import { loadModel } from '@x/model';
import { type AlongStep, blocksFor, greedyAlong } from './reference.js';

/** {@link greedyAlong} on the WebGPU executor. */
export async function webgpuAlong(
  path: string,
  prompt: number[],
  theirs: readonly number[],
): Promise<AlongStep[]> {
  const model = await loadModel(path);
  const numBlocks = blocksFor(prompt.length + theirs.length);
  const exec = await WebGpuExecutor.create(model, {
    gpu: await requestGpuDevice(),
    ownsDevice: true,
    numBlocks,
    blockSize: 16,
    maxTokensPerStep: prompt.length,
    maxSequencesPerStep: 1,
    maxModelLen: numBlocks * 16,
  });
  try {
    return await greedyAlong((batch) => exec.forward(batch), prompt, theirs);
  } finally {
    await exec.dispose();
  }
}
