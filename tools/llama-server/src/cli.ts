#!/usr/bin/env node
import { runCommand, USAGE, UsageError } from './command.js';

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
try {
  await runCommand(process.argv.slice(2), {
    log: (line) => process.stderr.write(`${line}\n`),
    stop: stop.signal,
  });
} catch (error) {
  process.stderr.write(
    error instanceof UsageError
      ? `llama-server: ${error.message}\n\n${USAGE}\n`
      : `llama-server: ${(error as Error)?.message ?? String(error)}\n`,
  );
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
