// Loads @mlc-ai/web-xgrammar in Node. Its published bundle is UMD: Node 20 cannot import it as an
// ES module, and `require` refuses it inside a `"type": "module"` package. Evaluated as CommonJS
// (with `module`, `require` and `__filename`, which its Emscripten part reads) it works. Its
// `console` is our own, so that what the WebAssembly prints about a bad grammar can be captured
// for the error message instead of reaching the server's stderr.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fatalMessage, type LoadedXGrammar, loadedXGrammar, xgrammarExports } from './xgrammar.js';

let loaded: LoadedXGrammar | undefined;

/**
 * Loads xgrammar once per process.
 * @throws Error when the package is missing or does not evaluate
 */
export function loadXGrammarNode(): LoadedXGrammar {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@mlc-ai/web-xgrammar');
  // Its one dynamic import (of `module`, for createRequire) becomes a parameter: `import()` has
  // no module to resolve against inside a Function body in every host (Vitest's among them).
  const code = readFileSync(file, 'utf8').replaceAll("import('module')", 'importNodeModule()');
  let sink: string[] | undefined;
  const print =
    (fallback: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (sink) sink.push(args.map(String).join(' '));
      else fallback(...args);
    };
  const quietConsole = {
    ...console,
    log: print(() => {}),
    warn: print(() => {}),
    error: print(() => {}),
  };
  const module = { exports: {} as Record<string, unknown> };
  const factory = new Function(
    'exports',
    'module',
    'require',
    '__filename',
    '__dirname',
    'console',
    'importNodeModule',
    code,
  );
  const importNodeModule = async () => ({ createRequire });
  factory(module.exports, module, require, file, dirname(file), quietConsole, importNodeModule);
  loaded = loadedXGrammar(xgrammarExports(module.exports), async (fn) => {
    const lines: string[] = [];
    sink = lines;
    try {
      return await fn();
    } catch (error) {
      throw new Error(fatalMessage(lines) ?? (error as Error)?.message ?? String(error));
    } finally {
      sink = undefined;
    }
  });
  return loaded;
}
