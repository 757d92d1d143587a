import { type Command, CommanderError } from 'commander';
import { formatError } from './errors.js';
import type { CliIo } from './io.js';
import { buildProgram } from './program.js';

/** Makes a command tree throw instead of calling `process.exit`, for in-process tests. */
export function exitOverrideAll(command: Command): Command {
  command.exitOverride();
  for (const sub of command.commands) exitOverrideAll(sub);
  return command;
}

/** What one in-process run of `xinfer` printed, and its exit code. */
export interface XinferRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs `xinfer <args>` in this process, capturing its output (no terminal: no progress bars). An
 * error thrown by a command is printed as the `xinfer` binary prints it. `input` is what
 * interactive commands read.
 */
export async function runXinfer(
  args: string[],
  version?: string,
  input?: NodeJS.ReadableStream,
): Promise<XinferRun> {
  const run = { stdout: '', stderr: '', exitCode: 0 };
  const io: CliIo = {
    out: (text) => {
      run.stdout += text;
    },
    err: (text) => {
      run.stderr += text;
    },
    input,
  };
  try {
    await exitOverrideAll(buildProgram(io, version)).parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message already; --help and --version exit 0.
      run.exitCode = error.exitCode;
    } else {
      run.exitCode = 1;
      io.err(formatError(error, {}));
    }
  }
  return run;
}
