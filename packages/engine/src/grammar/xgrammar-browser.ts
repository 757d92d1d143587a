// Loads @mlc-ai/web-xgrammar in a browser, through the page's bundler (the package's UMD bundle
// sets `globalThis.xgrammar` when it is not evaluated as CommonJS).
import {
  fatalMessage,
  initializeXGrammar,
  type LoadedXGrammar,
  xgrammarExports,
} from './xgrammar.js';

let loaded: Promise<LoadedXGrammar> | undefined;

/** Imports xgrammar once per page. */
export function loadXGrammarBrowser(): Promise<LoadedXGrammar> {
  loaded ??= import('@mlc-ai/web-xgrammar').then((mod) => {
    const xgrammar = xgrammarExports(mod);
    return {
      xgrammar,
      ready: initializeXGrammar(xgrammar),
      async capture<T>(fn: () => Promise<T>): Promise<T> {
        try {
          return await fn();
        } catch (error) {
          // The reason went to the console; say what we know.
          throw new Error(fatalMessage([(error as Error)?.message ?? String(error)]) ?? 'rejected');
        }
      },
    };
  });
  return loaded;
}
