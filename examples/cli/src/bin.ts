#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { buildProgram } from './program.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

try {
  await buildProgram(undefined, version).parseAsync(process.argv);
} catch (error) {
  const err = error as { message?: string; code?: string };
  process.stderr.write(
    `xinfer: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(error)}\n`,
  );
  process.exitCode = 1;
}
