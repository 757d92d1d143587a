export { type CliIo, processIo } from './io.js';
export { buildProgram } from './program.js';
