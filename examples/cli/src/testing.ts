import type { Command } from 'commander';
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

/** Runs `xinfer <args>` in this process, capturing its output (no terminal: no progress bars). */
export async function runXinfer(args: string[], version?: string): Promise<XinferRun> {
  const run = { stdout: '', stderr: '', exitCode: 0 };
  const io: CliIo = {
    out: (text) => {
      run.stdout += text;
    },
    err: (text) => {
      run.stderr += text;
    },
  };
  try {
    await exitOverrideAll(buildProgram(io, version)).parseAsync(args, { from: 'user' });
  } catch (error) {
    run.exitCode = (error as { exitCode?: number }).exitCode ?? 1;
    // Errors thrown by an action (bad files, …) reach the bin's handler, which prints them.
    if (!run.stderr) run.stderr = (error as Error).message;
  }
  return run;
}
