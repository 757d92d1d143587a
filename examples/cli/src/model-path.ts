import { Option } from 'commander';
import { CliUsageError } from './errors.js';

/**
 * `-m, --model <path>`, as every command that runs a model takes it. It is not a required option
 * for commander: {@link resolveModelPath} decides, so that a default model plugs in there alone.
 */
export function modelOption(description = 'GGUF file or Hugging Face directory'): Option {
  return new Option('-m, --model <path>', description);
}

/**
 * The model a command runs: the one given with `--model`. (When the bundled demo model ships, it is
 * the default here, and every command that takes `--model` gets it.)
 * @throws CliUsageError when no model is given
 */
export function resolveModelPath(option: string | undefined): string {
  if (option !== undefined) return option;
  throw new CliUsageError('no model given: pass --model <GGUF file or Hugging Face directory>');
}
