/**
 * A mistake in what the user asked for (a bad option combination, a file that cannot be read):
 * printed as one line, never with a stack trace.
 */
export class CliUsageError extends Error {
  override readonly name: string = 'CliUsageError';
  readonly code: string = 'CLI_USAGE';
}

/** A file the command could not read; says which. */
export class CliInputError extends CliUsageError {
  override readonly name = 'CliInputError';
  override readonly code = 'CLI_BAD_INPUT';
}

/** `cannot read <path>: <reason>`, the reason short for the usual cases. */
export function cannotRead(path: string, error: unknown): CliInputError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'a directory, not a file'
        : (error as Error).message;
  return new CliInputError(`cannot read ${path}: ${reason}`);
}

/** The message of any thrown value, on one line. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * What `xinfer` prints for an error that ends a command: `xinfer: <message>`, one line, whatever
 * threw it (`GenerationParamsError`, `EngineError`, `ModelFileError`, commander's
 * `InvalidArgumentError`, a file system error…). The message names the field, file or option at
 * fault; the stack is printed only when `XINFER_DEBUG` is set, for bug reports.
 */
export function formatError(error: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const line = `xinfer: ${errorMessage(error)}\n`;
  if (env.XINFER_DEBUG && error instanceof Error && error.stack) return `${line}${error.stack}\n`;
  return line;
}

/**
 * Commander's own error lines (`error: unknown option '--foo'`) as `xinfer: …`, with where to look
 * on the same line, so that every error is one line.
 */
export function commanderErrorLine(commandPath: string) {
  return (message: string, write: (text: string) => void): void => {
    const text = message.replace(/^error: /, '').trimEnd();
    write(`xinfer: ${text} (see ${commandPath} --help)\n`);
  };
}
