import { readFileSync } from 'node:fs';
import { EngineConfigError, type EngineOptions, InferenceEngine } from '@x/engine';
import { CliUsageError, cannotRead } from './errors.js';
import { resolveModelPath } from './model-path.js';
import type { ExecutorName } from './options.js';

/** What every command that runs a model takes from its options. */
export interface EngineCliOptions {
  model?: string | undefined;
  executor: ExecutorName;
  /** `--threads <n>`: the CPU executor's worker threads. */
  threads?: number | undefined;
  /** `--chat-template <file>`: a Jinja chat template used instead of the model's. */
  chatTemplate?: string | undefined;
}

/**
 * The engine a command runs on: the `--model` (or the default model) on the `--executor`, with
 * the `--chat-template` file when given. By default the engine's log lines are dropped: commands
 * say what they run on in their own words, on stderr.
 * @throws CliUsageError for a chat template file that cannot be read
 *   or does not parse; ModelFileError for a bad model file
 */
export async function openEngine(
  options: EngineCliOptions,
  engineOptions: Omit<EngineOptions, 'model' | 'executor' | 'threads' | 'chatTemplate'> = {
    log: false,
  },
): Promise<InferenceEngine> {
  let chatTemplate: string | undefined;
  if (options.chatTemplate !== undefined) {
    try {
      chatTemplate = readFileSync(options.chatTemplate, 'utf8');
    } catch (error) {
      throw cannotRead(options.chatTemplate, error);
    }
  }
  try {
    return await InferenceEngine.create({
      ...engineOptions,
      model: resolveModelPath(options.model),
      executor: options.executor,
      threads: options.threads,
      chatTemplate,
    });
  } catch (error) {
    if (error instanceof EngineConfigError && error.field === 'chatTemplate') {
      throw new CliUsageError(
        `--chat-template ${options.chatTemplate}: ${error.message.replace(/^chatTemplate: /, '')}`,
        { cause: error },
      );
    }
    throw error;
  }
}
