import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceEngine } from '@x/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchResult } from '../batch-jsonl.js';
import { writeTinyModel } from '../test-helpers.js';
import { runXinfer } from '../testing.js';

let model: string;
let dir: string;
beforeAll(async () => {
  model = await writeTinyModel();
  dir = mkdtempSync(join(tmpdir(), 'xinfer-batch-'));
});

const INPUT = [
  '{"id": "a", "prompt": "In the beginning"}',
  '',
  '{"id": 2, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}',
  '{"id": "broken", "prompt": ',
  '{"id": "hot", "prompt": "x", "temperature": 5}',
  '{"prompt": "And God said", "max_tokens": 3, "temperature": 0.9, "seed": 7}',
  '{"id": "neither"}',
];

const readResults = (path: string): BatchResult[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as BatchResult);

const byLine = (results: BatchResult[]) => new Map(results.map((r) => [r.line, r]));

describe('xinfer batch', () => {
  it('writes one result per input line, an error line for each bad one, and resumes', async () => {
    const input = join(dir, 'prompts.jsonl');
    const output = join(dir, 'out', 'results.jsonl');
    writeFileSync(input, `${INPUT.join('\n')}\n`);
    const args = ['batch', '-m', model, '-i', input, '-o', output, '-n', '12', '-c', '2'];

    const first = await runXinfer(args);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/results\.jsonl: 6 lines done \(3 failed\); \d+ tokens in /);
    const results = readResults(output);
    expect(results.map((r) => r.line).sort()).toEqual([1, 3, 4, 5, 6, 7]);

    const engine = await InferenceEngine.create({ model, log: false });
    const expected = {
      1: await engine.generate('In the beginning', { maxTokens: 12, temperature: 0 }).result,
      3: await engine.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 5, temperature: 0 })
        .result,
      6: await engine.generate('And God said', { maxTokens: 3, temperature: 0.9, seed: 7 }).result,
    };
    await engine.close();
    const got = byLine(results);
    for (const [line, id] of [
      [1, 'a'],
      [3, 2],
      [6, null],
    ] as const) {
      const want = expected[line];
      expect(got.get(line)).toEqual({
        id,
        line,
        text: want.text,
        finish_reason: want.finishReason,
        usage: {
          prompt_tokens: want.usage.promptTokens,
          completion_tokens: want.usage.completionTokens,
          total_tokens: want.usage.totalTokens,
        },
      });
    }
    expect(got.get(4)).toMatchObject({
      id: null,
      error: expect.stringContaining('not valid JSON'),
    });
    expect(got.get(5)).toEqual({
      id: 'hot',
      line: 5,
      error: 'temperature: must be in [0, 2], got 5',
    });
    expect(got.get(7)).toMatchObject({
      id: 'neither',
      error: expect.stringContaining('give exactly one of prompt and messages'),
    });

    // Delete the result of line 3, and leave half a line as a killed run would.
    const kept = readFileSync(output, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && JSON.parse(line).line !== 3);
    writeFileSync(output, `${kept.join('\n')}\n{"id": "a", "li`);

    const second = await runXinfer(args);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/: 4 lines done \(3 failed\), 2 skipped \(done before\);/);
    const after = readResults(output); // every line is whole JSON again
    expect(after.slice(0, kept.length)).toEqual(kept.map((line) => JSON.parse(line)));
    const redone = after.slice(kept.length);
    // Line 3 again, with the same text; the error lines are retried; nothing else.
    expect(redone.map((r) => r.line).sort()).toEqual([3, 4, 5, 7]);
    expect(byLine(redone).get(3)).toEqual(got.get(3));
  });

  it("holds each line to its own constraint; a bad constraint is that line's error alone", async () => {
    // Bounded, because a random model does not close strings or arrays on its own.
    const user = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 8 },
        age: { type: 'integer', minimum: 0, maximum: 120 },
        tags: { type: 'array', items: { type: 'string', maxLength: 4 }, maxItems: 2 },
      },
      required: ['name', 'age', 'tags'],
    };
    // The first batch (-c 4) mixes kinds of constraint: xgrammar must load once, not per kind.
    const lines = [
      { id: 'grammar', prompt: 'Q: ', grammar: 'root ::= "yes" | "no" | "maybe " [a-z]{2,4}' },
      {
        id: 'rf-schema',
        prompt: 'A user: ',
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'user', schema: user, strict: true },
        },
      },
      { id: 'rf-object', prompt: 'A user: ', response_format: { type: 'json_object' } },
      { id: 'rf-text', prompt: 'x', max_tokens: 5, response_format: { type: 'text' } },
      {
        id: 'schema',
        messages: [{ role: 'user', content: 'How old?' }],
        json_schema: {
          type: 'object',
          properties: { age: { type: 'integer', minimum: 0, maximum: 99 } },
          required: ['age'],
        },
      },
      { id: 'regex', prompt: 'Code: ', regex: '[A-Z]{2}-[0-9]{3}' },
      { id: 'choice', prompt: 'Mood: ', choice: ['happy', 'sad', 'so-so'] },
      { id: 'two', prompt: 'x', grammar: 'root ::= "a"', regex: 'a' },
      { id: 'uncompilable', prompt: 'x', grammar: 'root ::= foo' },
      {
        id: 'unique',
        prompt: 'x',
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'u', schema: { type: 'array', uniqueItems: true } },
        },
      },
      { id: 'bad-regex', prompt: 'x', regex: '[a-' },
      { id: 'bad-choice', prompt: 'x', choice: 'happy' },
    ];
    const input = join(dir, 'constrained.jsonl');
    const output = join(dir, 'constrained-results.jsonl');
    writeFileSync(input, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const run = await runXinfer([
      'batch',
      '-m',
      model,
      '-i',
      input,
      '-o',
      output,
      '-n',
      '100',
      '-c',
      '4',
      '--executor',
      'reference',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/constrained-results\.jsonl: 12 lines done \(5 failed\);/);
    const got = new Map(readResults(output).map((r) => [r.id, r]));
    expect(got.size).toBe(12);
    const text = (id: string) => {
      const result = got.get(id);
      expect(result, id).toMatchObject({ finish_reason: 'stop' });
      return (result as { text: string }).text;
    };

    const person = JSON.parse(text('rf-schema')) as { name: unknown; age: unknown; tags: unknown };
    expect(Object.keys(person)).toEqual(['name', 'age', 'tags']);
    expect(typeof person.name).toBe('string');
    expect([...(person.name as string)].length).toBeLessThanOrEqual(8);
    expect(Number.isInteger(person.age) && (person.age as number) <= 120).toBe(true);
    expect(Array.isArray(person.tags) && (person.tags as unknown[]).length <= 2).toBe(true);
    const object = JSON.parse(text('rf-object')) as unknown;
    expect(typeof object === 'object' && object !== null && !Array.isArray(object)).toBe(true);
    const { age } = JSON.parse(text('schema')) as { age: number };
    expect(Number.isInteger(age) && age >= 0 && age <= 99).toBe(true);
    expect(text('grammar')).toMatch(/^(yes|no|maybe [a-z]{2,4})$/);
    expect(text('regex')).toMatch(/^[A-Z]{2}-[0-9]{3}$/);
    expect(['happy', 'sad', 'so-so']).toContain(text('choice'));

    // {"type": "text"} is no constraint: the same text as without it.
    const engine = await InferenceEngine.create({ model, log: false, executor: 'reference' });
    const plain = await engine.generate('x', { maxTokens: 5, temperature: 0 }).result;
    await engine.close();
    expect(got.get('rf-text')).toMatchObject({ text: plain.text });

    expect(got.get('two')).toEqual({
      id: 'two',
      line: 8,
      error:
        'give at most one of response_format, json_schema, grammar, regex and choice, got grammar and regex',
    });
    expect(got.get('uncompilable')).toEqual({
      id: 'uncompilable',
      line: 9,
      error:
        'grammar: the grammar does not compile: EBNF parser error at line 1, column 10: Rule "foo" is not defined',
    });
    expect(got.get('unique')).toEqual({
      id: 'unique',
      line: 10,
      error:
        'response_format.json_schema.schema: the grammar engine does not enforce uniqueItems ' +
        '(at #/uniqueItems); leave it out or check it after generation',
    });
    expect(got.get('bad-regex')).toMatchObject({
      line: 11,
      error: expect.stringMatching(/^regex: the regex does not compile: /),
    });
    expect(got.get('bad-choice')).toMatchObject({
      line: 12,
      error: expect.stringMatching(/^choice: .*expected array/),
    });
  });

  it('fails in one line on a missing input file, or an output that is the input', async () => {
    const missing = await runXinfer(['batch', '-m', model, '-i', join(dir, 'no.jsonl'), '-o', 'x']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`xinfer: cannot read ${join(dir, 'no.jsonl')}: no such file\n`);
    const same = join(dir, 'same.jsonl');
    writeFileSync(same, '{"prompt": "x"}\n');
    const clash = await runXinfer(['batch', '-m', model, '-i', same, '-o', same]);
    expect(clash.exitCode).toBe(1);
    expect(clash.stderr).toBe('xinfer: --output must be another file than --input\n');
    expect(readFileSync(same, 'utf8')).toBe('{"prompt": "x"}\n');
  });
});
