// Compiles request constraints to xgrammar grammars against one model's vocabulary, once per
// distinct constraint, and makes the per-sequence matchers the engine steps with.
import { bytesToByteLevel, type Tokenizer } from '@x/model';
import {
  type Constraint,
  choiceGrammar,
  constraintKey,
  constraintProblem,
  type JsonWhitespace,
} from '../constraint.js';
import { GenerationParamsError } from '../generation-params.js';
import { Utf8Masks } from './utf8-masks.js';
import type {
  CompiledGrammar,
  GrammarCompiler,
  GrammarMatcher,
  LoadedXGrammar,
  TokenizerInfo,
} from './xgrammar.js';

/**
 * Most whitespace characters between two JSON tokens: llama.cpp's JSON grammars allow a newline or
 * two and 20 spaces or tabs. Unbounded, a small model can spend its whole budget on spaces.
 */
export const MAX_JSON_WHITESPACE = 22;

/** Distinct compiled grammars kept (least recently used dropped first). Default 64. */
export const DEFAULT_GRAMMAR_CACHE_SIZE = 64;

/** One sequence's place in its grammar. */
export interface ConstraintMatcher {
  /** The tokens allowed next: bit `id & 31` of word `id >> 5` (`SamplingParams.allowedTokens`). */
  nextMask(): Promise<Int32Array>;
  /** Advances past `token`; false (and no change) when the grammar does not allow it. */
  accept(token: number): boolean;
  /** Whether the grammar has ended (an end-of-generation token was accepted where allowed). */
  readonly terminated: boolean;
  /** Undoes the last `n` accepted tokens. */
  rollback(n: number): void;
  /** Frees the matcher's WebAssembly memory. Idempotent. */
  dispose(): void;
}

/**
 * Which tokens a grammar may use. `json-compact`: none holding a control character (compact JSON
 * has none, and xgrammar 0.1.27 lets some through inside strings after a multi-byte character);
 * `json`: none holding a control character other than tab, newline or carriage return (JSON
 * whitespace); `text`: every token.
 */
type VocabularyKind = 'json-compact' | 'json' | 'text';

/** Whether a token's bytes hold a control character a kind of JSON cannot contain. */
function hasControlByte(bytes: Uint8Array, whitespaceAllowed: boolean): boolean {
  for (const b of bytes) {
    if (b < 0x20 && !(whitespaceAllowed && (b === 0x09 || b === 0x0a || b === 0x0d))) return true;
  }
  return false;
}

/** xgrammar with the vocabulary's token info and a compiler for it. */
interface GrammarContext {
  loaded: LoadedXGrammar;
  compiler: GrammarCompiler;
  info: TokenizerInfo;
}

/** What a {@link ConstraintCompiler} needs from the model. */
export interface ConstraintVocabulary {
  tokenizer: Tokenizer;
  /** Logits per row: the model's vocabulary size, which may exceed the tokenizer's. */
  vocabSize: number;
}

/**
 * Turns {@link Constraint}s into xgrammar matchers for one vocabulary. Token texts reach xgrammar
 * as their exact bytes (each token's `tokenBytes`, spelled byte-level), so byte-level BPE,
 * SentencePiece with byte fallback and tokenizer.json vocabularies are matched alike; control
 * tokens have no bytes and are never allowed, except the end-of-generation tokens where the
 * grammar is complete. Each distinct constraint compiles once (an LRU cache keyed by it).
 */
export class ConstraintCompiler {
  /** Per kind of vocabulary: all tokens, or those JSON can contain anywhere. */
  private readonly contexts = new Map<VocabularyKind, Promise<GrammarContext>>();
  private readonly cache = new Map<string, Promise<CompiledGrammar>>();
  private disposed = false;
  private utf8: Utf8Masks | undefined;
  /** Each token's bytes spelled byte-level, made once for every kind of vocabulary. */
  private spellings: string[] | undefined;

  constructor(
    private readonly vocabulary: ConstraintVocabulary,
    private readonly load: () => LoadedXGrammar | Promise<LoadedXGrammar>,
    private readonly cacheSize = DEFAULT_GRAMMAR_CACHE_SIZE,
  ) {}

  /**
   * Compiles `constraint` (or finds it compiled).
   * @throws GenerationParamsError on `constraint` when it is malformed or does not compile,
   *   with xgrammar's reason
   */
  compile(constraint: Constraint): Promise<CompiledGrammar> {
    // A cached constraint was checked when it was first compiled: a hit is not checked again.
    const key = keyOf(constraint);
    const hit = key === undefined ? undefined : this.cache.get(key);
    if (hit && key !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const problem = constraintProblem(constraint);
    if (problem || key === undefined) {
      return Promise.reject(new GenerationParamsError('constraint', problem ?? 'malformed'));
    }
    // A constraint that fails stays cached with its error: it is not compiled (and xgrammar not
    // aborted) again.
    const compiled = this.compileNew(constraint);
    this.cache.set(key, compiled);
    compiled.catch(() => {});
    while (this.cache.size > this.cacheSize) {
      const [oldest, entry] = this.cache.entries().next().value as [
        string,
        Promise<CompiledGrammar>,
      ];
      this.cache.delete(oldest);
      // Matchers made from it hold their own reference to the compiled grammar.
      entry.then((g) => g.dispose()).catch(() => {});
    }
    return compiled;
  }

  /**
   * A fresh matcher at the start of `constraint`'s grammar.
   * @throws GenerationParamsError as {@link compile}
   */
  async matcher(constraint: Constraint): Promise<ConstraintMatcher> {
    const compiled = await this.compile(constraint);
    const { loaded } = await this.context(kindOf(constraint));
    const { tokenizer, vocabSize } = this.vocabulary;
    this.utf8 ??= new Utf8Masks(
      vocabSize,
      (id) => tokenizer.tokenBytes(id),
      Math.min(tokenizer.vocabSize, vocabSize),
    );
    const stops = tokenizer.stopTokenIds;
    const matcher = await loaded.xgrammar.GrammarMatcher.createGrammarMatcher(
      compiled,
      stops.length > 0 ? [...stops] : undefined,
      // With no end-of-generation token the grammar ends the text itself.
      stops.length === 0,
    );
    return wrapMatcher(matcher, this.utf8);
  }

  /** Frees the compiled grammars and the tokenizer info. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const entry of this.cache.values()) entry.then((g) => g.dispose()).catch(() => {});
    this.cache.clear();
    for (const context of this.contexts.values()) {
      context
        .then(({ compiler, info }) => {
          compiler.dispose();
          info.dispose();
        })
        .catch(() => {});
    }
    this.contexts.clear();
  }

  private async compileNew(constraint: Constraint): Promise<CompiledGrammar> {
    const { loaded, compiler } = await this.context(kindOf(constraint));
    try {
      return await loaded.capture(() => {
        switch (constraint.type) {
          case 'json_object':
          case 'json_schema': {
            const ws = whitespaceArgs(constraint.whitespace);
            // JSON mode is any object: not strict, so its properties are free.
            const object = constraint.type === 'json_object';
            return compiler.compileJSONSchema(
              object ? '{"type": "object"}' : JSON.stringify(constraint.schema),
              ws.any,
              ws.indent,
              ws.separators,
              !object,
              ws.any ? MAX_JSON_WHITESPACE : undefined,
            );
          }
          case 'grammar':
            return compiler.compileGrammar(constraint.grammar, 'root');
          case 'regex':
            return compiler.compileStructuralTag({
              type: 'structural_tag',
              format: { type: 'regex', pattern: constraint.pattern },
            });
          case 'choice':
            return compiler.compileGrammar(choiceGrammar(constraint.choices), 'root');
          case 'structural_tag':
            return compiler.compileStructuralTag(constraint.structuralTag);
        }
      });
    } catch (error) {
      throw new GenerationParamsError(
        'constraint',
        `the ${constraint.type.replace('_', ' ')} does not compile: ${(error as Error).message}`,
      );
    }
  }

  /** xgrammar and the token info of a kind of vocabulary, made on first use. */
  private context(kind: VocabularyKind): Promise<GrammarContext> {
    let context = this.contexts.get(kind);
    if (context) return context;
    context = (async () => {
      const loaded = await this.load();
      await loaded.ready;
      const { tokenizer, vocabSize } = this.vocabulary;
      this.spellings ??= Array.from({ length: Math.min(tokenizer.vocabSize, vocabSize) }, (_, id) =>
        bytesToByteLevel(tokenizer.tokenBytes(id)),
      );
      // A token with no bytes is special to xgrammar: allowed only as a stop token.
      const vocab =
        kind === 'text'
          ? this.spellings
          : this.spellings.map((text, id) =>
              hasControlByte(tokenizer.tokenBytes(id), kind === 'json') ? '' : text,
            );
      const stops = tokenizer.stopTokenIds;
      const info = await loaded.xgrammar.TokenizerInfo.createTokenizerInfo(
        vocab,
        'byte_level',
        false,
        vocabSize,
        stops.length > 0 ? [...stops] : undefined,
      );
      // Our cache, not xgrammar's: a compile that aborts (a bad grammar) leaves the lock of
      // xgrammar's cache entry held, and the next compile of that grammar would wait forever.
      const compiler = await loaded.xgrammar.GrammarCompiler.createGrammarCompiler(info, false);
      return { loaded, compiler, info };
    })();
    this.contexts.set(kind, context);
    return context;
  }
}

/** The cache key of a constraint, or undefined when it has none (it is malformed). */
function keyOf(constraint: Constraint): string | undefined {
  try {
    return constraintKey(constraint);
  } catch {
    return undefined; // a schema JSON cannot write (a cycle)
  }
}

function kindOf(constraint: Constraint): VocabularyKind {
  if (constraint.type !== 'json_object' && constraint.type !== 'json_schema') return 'text';
  return (constraint.whitespace ?? 'compact') === 'compact' ? 'json-compact' : 'json';
}

/**
 * xgrammar's JSON whitespace arguments: any whitespace (bounded), the indent (-1 for one line)
 * and the separators.
 */
function whitespaceArgs(whitespace: JsonWhitespace = 'compact') {
  switch (whitespace) {
    case 'compact':
      return { any: false, indent: -1, separators: [', ', ': '] as [string, string] };
    case 'pretty':
      return { any: false, indent: 2, separators: [',', ': '] as [string, string] };
    case 'any':
      return { any: true, indent: undefined, separators: undefined };
  }
}

/** xgrammar's matcher, its masks held to valid UTF-8 (see utf8-masks.ts). */
function wrapMatcher(matcher: GrammarMatcher, utf8: Utf8Masks): ConstraintMatcher {
  let live = true;
  // The UTF-8 state after each accepted token, for rollbacks.
  const states: number[] = [0];
  return {
    nextMask: async () => utf8.restrict(await matcher.getNextTokenBitmask(), states.at(-1) ?? 0),
    accept(token) {
      if (!matcher.acceptToken(token)) return false;
      states.push(utf8.after(states.at(-1) ?? 0, token));
      return true;
    },
    get terminated() {
      return matcher.isTerminated();
    },
    rollback(n) {
      matcher.rollBack(n);
      states.length = Math.max(1, states.length - n);
    },
    dispose() {
      if (!live) return;
      live = false;
      matcher.dispose();
    },
  };
}
