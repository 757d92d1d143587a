import { Command } from 'commander';
import { benchCommand } from './commands/bench.js';
import { generateCommand } from './commands/generate.js';
import { gpuCommand } from './commands/gpu.js';
import { scoreCommand } from './commands/score.js';
import { serveCommand } from './commands/serve.js';
import { type CliIo, processIo } from './io.js';

/** The `xinfer` command tree. */
export function buildProgram(io: CliIo = processIo, version = '0.0.0'): Command {
  const program = new Command('xinfer')
    .description('LLM inference in TypeScript: WebGPU execution, continuous batching.')
    .version(version, '-v, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  program.addCommand(benchCommand(io));
  program.addCommand(generateCommand(io));
  program.addCommand(gpuCommand(io));
  program.addCommand(scoreCommand(io));
  program.addCommand(serveCommand(io));
  // addCommand() does not pass settings down (command() would), so give each subcommand the
  // program's output and error behaviour.
  for (const command of program.commands) {
    command.configureOutput({ writeOut: io.out, writeErr: io.err }).showHelpAfterError();
  }
  return program;
}
