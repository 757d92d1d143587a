import { Command } from 'commander';
import { gpuCommand } from './commands/gpu.js';
import { type CliIo, processIo } from './io.js';

/** The `xinfer` command tree. */
export function buildProgram(io: CliIo = processIo, version = '0.0.0'): Command {
  const program = new Command('xinfer')
    .description('LLM inference in TypeScript: WebGPU execution, continuous batching.')
    .version(version, '-v, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  program.addCommand(gpuCommand(io));
  return program;
}
