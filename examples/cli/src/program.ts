import { Command } from 'commander';
import { batchCommand } from './commands/batch.js';
import { benchCommand } from './commands/bench.js';
import { budgetCommand } from './commands/budget.js';
import { chatCommand } from './commands/chat.js';
import { generateCommand } from './commands/generate.js';
import { gpuCommand } from './commands/gpu.js';
import { scoreCommand } from './commands/score.js';
import { serveCommand } from './commands/serve.js';
import { commanderErrorLine } from './errors.js';
import { type CliIo, processIo } from './io.js';

/** The subcommands, in the order `xinfer --help` lists them. A new command is one more entry. */
const COMMANDS: ReadonlyArray<(io: CliIo) => Command> = [
  generateCommand,
  chatCommand,
  batchCommand,
  serveCommand,
  budgetCommand,
  benchCommand,
  scoreCommand,
  gpuCommand,
];

/** The `xinfer` command tree. */
export function buildProgram(io: CliIo = processIo, version = '0.0.0'): Command {
  const program = new Command('xinfer')
    .description('LLM inference in TypeScript: WebGPU execution, continuous batching.')
    .version(version, '-v, --version')
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: commanderErrorLine('xinfer'),
    });
  for (const make of COMMANDS) {
    const command = make(io);
    // addCommand() does not pass settings down (command() would), so give each subcommand the
    // program's output, and errors as one `xinfer: …` line.
    command.configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: commanderErrorLine(`xinfer ${command.name()}`),
    });
    program.addCommand(command);
  }
  return program;
}
