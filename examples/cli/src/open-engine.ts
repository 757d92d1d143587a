import { InferenceEngine } from '@x/engine';
import { CliUsageError } from './errors.js';
import { resolveModelPath } from './model-path.js';
import type { ExecutorName } from './options.js';

/** Said by every command that takes `--executor` until the WebGPU executor lands. */
export const WEBGPU_NOT_YET = 'the WebGPU executor is not available yet; use --executor reference';

/**
 * The engine a command runs on: the `--model` (or the default model) on the `--executor`. The
 * engine's log line is dropped: commands say what they run on in their own words, on stderr.
 * @throws CliUsageError for `--executor webgpu` or no model; ModelFileError for a bad model file
 */
export async function openEngine(options: {
  model?: string | undefined;
  executor: ExecutorName;
}): Promise<InferenceEngine> {
  if (options.executor === 'webgpu') throw new CliUsageError(WEBGPU_NOT_YET);
  return InferenceEngine.create({
    model: resolveModelPath(options.model),
    executor: 'reference',
    log: false,
  });
}
