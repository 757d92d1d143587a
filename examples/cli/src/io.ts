/** Where a command writes: stdout for results, stderr for diagnostics. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** A terminal for progress bars; absent when output is not a TTY, so nothing is drawn. */
  progress?: NodeJS.WriteStream | undefined;
}

/** Writes to the process's stdout and stderr; progress bars only when stderr is a terminal. */
export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY ? process.stderr : undefined,
};
