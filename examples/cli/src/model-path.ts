import { demoModelPath } from '@x/demo-model';
import { Option } from 'commander';

/**
 * `-m, --model <path>`, as every command that runs a model takes it. It is not a required option
 * for commander: {@link resolveModelPath} decides, so that a default model plugs in there alone.
 */
export function modelOption(
  description = 'GGUF file or Hugging Face directory (default: the bundled demo model)',
): Option {
  return new Option('-m, --model <path>', description);
}

/**
 * The model a command runs: the one given with `--model`, else the bundled demo model
 * (`@x/demo-model`, a small Llama trained on the King James Bible).
 */
export function resolveModelPath(option: string | undefined): string {
  return option ?? demoModelPath;
}
