// xgrammar from a module the application imported itself: how a browser page gives the engine its
// grammar engine. The engine's browser entry does not import @mlc-ai/web-xgrammar: its bundle
// names Node built-ins (`url`, `module`) on paths a browser never takes, which some bundlers refuse,
// and a page that never constrains output should not carry its 1 MB.
import { fatalMessage, type LoadedXGrammar, loadedXGrammar, xgrammarExports } from './xgrammar.js';

/**
 * A grammar engine for `setEnginePlatform({ loadXGrammar })` from the imported
 * `@mlc-ai/web-xgrammar` module (or a promise of it), however the bundler presented its UMD
 * exports:
 *
 * ```ts
 * setEnginePlatform({ loadXGrammar: () => xgrammarFromModule(import('@mlc-ai/web-xgrammar')) });
 * ```
 * @throws Error when the module does not export xgrammar's classes
 */
export async function xgrammarFromModule(mod: unknown): Promise<LoadedXGrammar> {
  return loadedXGrammar(xgrammarExports(await mod), async (fn) => {
    try {
      return await fn();
    } catch (error) {
      // xgrammar printed its reason to the console; keep what the error says.
      const message = (error as Error)?.message ?? String(error);
      throw new Error(fatalMessage([message]) ?? `xgrammar rejected it (${message})`);
    }
  });
}
