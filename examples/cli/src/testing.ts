import type { Command } from 'commander';

/** Makes a command tree throw instead of calling `process.exit`, for in-process tests. */
export function exitOverrideAll(command: Command): Command {
  command.exitOverride();
  for (const sub of command.commands) exitOverrideAll(sub);
  return command;
}
