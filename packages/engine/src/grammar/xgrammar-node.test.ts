// The xgrammar loader: its first use from several constraints at once (xgrammar 0.1.27 would
// instantiate its WebAssembly twice), and the reasons it prints for bad grammars.
import { describe, expect, it } from 'vitest';
import { InferenceEngine } from '../index.js';
import { tinyModel } from '../test-fixtures.js';
import { fatalMessage } from './xgrammar.js';

describe('loading xgrammar', () => {
  it('compiles constraints of every kind at once on first use, in a fresh process', async () => {
    const engine = await InferenceEngine.create({
      model: await tinyModel(),
      executor: 'reference',
      maxNumBlocks: 64,
      kvCacheMemoryMb: 16,
      log: false,
    });
    try {
      const constraints = [
        { type: 'json_schema', schema: { type: 'integer', minimum: 0, maximum: 9 } },
        { type: 'grammar', grammar: 'root ::= "a" | "b"' },
        { type: 'regex', pattern: '[0-9]{2}' },
        { type: 'json_object', whitespace: 'pretty' },
      ] as const;
      await Promise.all(constraints.map((c) => engine.prepareConstraint(c)));
      const results = await Promise.all(
        constraints.map(
          (constraint) =>
            engine.generate('x', {
              constraint,
              maxTokens: 40,
              temperature: 0,
              logitBias: new Map([[125, 8]]),
            }).result,
        ),
      );
      expect(results[0]!.text).toMatch(/^[0-9]$/);
      expect(results[1]!.text).toMatch(/^[ab]$/);
      expect(results[2]!.text).toMatch(/^[0-9]{2}$/);
      expect(typeof JSON.parse(results[3]!.text)).toBe('object');
    } finally {
      await engine.close();
    }
  });

  it("keeps xgrammar's reason and drops the file, line and abort noise", () => {
    expect(
      fatalMessage([
        '[FATAL] /Users/x/xgrammar/cpp/grammar_parser.cc:552: EBNF parser error at line 1, column 10: Rule "foo" is not defined',
        'Aborted()',
      ]),
    ).toBe('EBNF parser error at line 1, column 10: Rule "foo" is not defined');
    expect(
      fatalMessage([
        '[FATAL] /a/json_schema_converter.cc:3460: Check failed: (err.empty()) is false: Failed to parse JSON: syntax error',
      ]),
    ).toBe('Failed to parse JSON: syntax error');
    expect(fatalMessage(['Aborted()'])).toBeUndefined();
  });
});

describe('xgrammarFromModule (how a browser page passes xgrammar in)', () => {
  it('makes a grammar engine from the module’s exports, default export included', async () => {
    const { loadXGrammarNode } = await import('./xgrammar-node.js');
    const { xgrammarFromModule } = await import('./xgrammar-module.js');
    const { xgrammar } = loadXGrammarNode();
    for (const mod of [xgrammar, { default: xgrammar }]) {
      const loaded = await xgrammarFromModule(Promise.resolve(mod));
      await loaded.ready;
      expect(loaded.xgrammar.GrammarCompiler).toBe(xgrammar.GrammarCompiler);
      await expect(
        loaded.capture(() => Promise.reject(new Error('Aborted(). Build with…'))),
      ).rejects.toThrow(/xgrammar rejected it/);
    }
    await expect(xgrammarFromModule({})).rejects.toThrow(/did not export GrammarCompiler/);
  });
});
