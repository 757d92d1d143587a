#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { formatError } from './errors.js';
import { buildProgram } from './program.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

try {
  await buildProgram(undefined, version).parseAsync(process.argv);
} catch (error) {
  // Commander prints and exits on its own errors; what reaches here came from a command's action.
  process.stderr.write(formatError(error));
  process.exitCode = 1;
}
