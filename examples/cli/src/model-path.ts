/**
 * The model a command runs: the one given with `--model`. (When the bundled demo model ships, it is
 * the default here, and every command that takes `--model` gets it.)
 * @throws Error when no model is given
 */
export function resolveModelPath(option: string | undefined): string {
  if (option !== undefined) return option;
  throw new Error('no model given: pass --model <GGUF file or Hugging Face directory>');
}
