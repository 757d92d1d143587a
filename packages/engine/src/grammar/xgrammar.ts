// The part of xgrammar (@mlc-ai/web-xgrammar) the engine uses, and how it is loaded: Node evaluates
// the package's UMD bundle as CommonJS (xgrammar-node.ts); browsers import it.
import type * as XGrammarModule from '@mlc-ai/web-xgrammar';

/** The xgrammar module's exports. */
export type XGrammar = Pick<
  typeof XGrammarModule,
  'TokenizerInfo' | 'GrammarCompiler' | 'GrammarMatcher' | 'CompiledGrammar'
>;
export type {
  CompiledGrammar,
  GrammarCompiler,
  GrammarMatcher,
  TokenizerInfo,
} from '@mlc-ai/web-xgrammar';

/**
 * A loaded xgrammar with a way to read what its WebAssembly wrote to stderr: xgrammar reports why
 * a grammar or schema is bad only there (`[FATAL] … EBNF parser error at line 1, column 10: …`)
 * and then throws a bare `Aborted()`.
 */
export interface LoadedXGrammar {
  xgrammar: XGrammar;
  /**
   * Runs `fn` and returns its result, or throws an Error whose message is what xgrammar printed
   * while it ran (its `[FATAL]` lines), else the error's own message.
   */
  capture<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Settles once xgrammar's WebAssembly is instantiated. Await it before concurrent calls:
   * xgrammar 0.1.27 instantiates on first use, and two first uses at once instantiate it twice,
   * after which objects of one instance fail in the other ("Expected null or instance of
   * VectorInt, got an instance of VectorInt").
   */
  ready: Promise<void>;
}

/**
 * A loaded xgrammar whose captures run one at a time (so that what xgrammar prints belongs to the
 * call that printed it): `explain(fn)` runs one call and turns its failure into an Error.
 */
export function loadedXGrammar(
  xgrammar: XGrammar,
  explain: <T>(fn: () => Promise<T>) => Promise<T>,
): LoadedXGrammar {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    xgrammar,
    ready: initializeXGrammar(xgrammar),
    capture<T>(fn: () => Promise<T>): Promise<T> {
      const run = chain.then(() => explain(fn));
      chain = run.catch(() => {});
      return run;
    },
  };
}

/** Instantiates xgrammar's WebAssembly with one small call. */
export async function initializeXGrammar(xgrammar: XGrammar): Promise<void> {
  const info = await xgrammar.TokenizerInfo.createTokenizerInfo(['a'], 'raw', false, 1);
  info.dispose();
}

/** The exports of the UMD bundle, however a bundler or loader presented them. */
export function xgrammarExports(mod: unknown): XGrammar {
  const candidates = [
    mod,
    (mod as { default?: unknown } | undefined)?.default,
    (globalThis as { xgrammar?: unknown }).xgrammar,
  ];
  for (const candidate of candidates) {
    if (candidate && typeof (candidate as XGrammar).GrammarCompiler === 'function') {
      return candidate as XGrammar;
    }
  }
  throw new Error('@mlc-ai/web-xgrammar did not export GrammarCompiler');
}

/** The message xgrammar's printed lines give for a failure, or undefined when they say nothing. */
export function fatalMessage(lines: readonly string[]): string | undefined {
  const fatal = lines
    .flatMap((line) => line.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('Aborted('));
  if (fatal.length === 0) return undefined;
  // "[FATAL] /path/to/json_schema_converter.cc:3460: Check failed: (…) is false: Failed to …"
  return fatal
    .map((line) =>
      line
        .replace(/^\[FATAL\]\s*\S+:\d+:\s*/, '')
        .replace(/^Check failed: \(.*?\) is false:\s*/, ''),
    )
    .join('; ');
}
