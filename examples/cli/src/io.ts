/** Where a command reads and writes: stdin for chat, stdout for results, stderr for diagnostics. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** A terminal for progress bars; absent when output is not a TTY, so nothing is drawn. */
  progress?: NodeJS.WriteStream | undefined;
  /** What interactive commands (`chat`) read lines from; default `process.stdin`. */
  input?: NodeJS.ReadableStream | undefined;
}

/** Writes to the process's stdout and stderr; progress bars only when stderr is a terminal. */
export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY ? process.stderr : undefined,
  // A getter: process.stdin is only opened by a command that reads it.
  get input() {
    return process.stdin;
  },
};
