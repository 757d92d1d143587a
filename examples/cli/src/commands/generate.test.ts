import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoModelPath } from '@x/demo-model';
import { InferenceEngine } from '@x/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../test-helpers.js';
import { runXinfer } from '../testing.js';

let model: string;
let dir: string;
beforeAll(async () => {
  model = await writeTinyModel({ contextLength: 256 });
  dir = mkdtempSync(join(tmpdir(), 'xinfer-generate-'));
});

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function engineOutput(
  prompt: string,
  maxTokens: number,
  executor: 'reference' | 'webgpu' = 'reference',
) {
  const engine = await InferenceEngine.create({ model, log: false, executor });
  const result = await engine.generate(prompt, { maxTokens, temperature: 0 }).result;
  await engine.close();
  return result;
}

describe('xinfer generate', () => {
  it('runs the bundled demo model when no --model is given, and writes scripture-like English', async () => {
    const { stdout, exitCode } = await runXinfer([
      'generate',
      '--prompt',
      'In the beginning',
      '--max-tokens',
      '32',
      '--json',
      '--executor',
      'reference',
    ]);
    expect(exitCode).toBe(0);
    const json = JSON.parse(stdout);
    expect(json.model).toBe(demoModelPath);
    expect(json.text).toBe(
      ' of the LORD came the word of the LORD, and the God of Israel came unto me, and said, The LORD hath given me the God of Israel to',
    );
  });

  it('streams the greedy continuation after the prompt and reports the speed', async () => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'x',
      '--max-tokens',
      '20',
      '--executor',
      'reference',
    ]);
    expect(exitCode).toBe(0);
    expect(stdout).toBe(`x${(await engineOutput('x', 20)).text}\n`);
    expect(stderr).toMatch(
      /^xinfer: ReferenceExecutor: 20 tokens, [\d.]+ tok\/s, first token after \d+ ms \(length\)\n$/,
    );
  });

  it('prints one JSON object with --json', async () => {
    const { stdout, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'In the beginning',
      '-n',
      '12',
      '--json',
      '--executor',
      'reference',
    ]);
    expect(exitCode).toBe(0);
    const json = JSON.parse(stdout);
    const expected = await engineOutput('In the beginning', 12);
    expect(json).toMatchObject({
      executor: 'ReferenceExecutor',
      prompt_ids: expected.promptTokenIds,
      ids: expected.tokenIds,
      text: expected.text,
      finish_reason: expected.finishReason,
    });
    expect(json.timings.total_ms).toBeGreaterThan(0);
  });

  it('runs on the WebGPU executor with --executor webgpu (lavapipe where there is no GPU)', async () => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'In the beginning',
      '-n',
      '12',
      '--json',
      '--executor',
      'webgpu',
    ]);
    expect(exitCode, stderr).toBe(0);
    const json = JSON.parse(stdout);
    const expected = await engineOutput('In the beginning', 12, 'webgpu');
    expect(json).toMatchObject({
      executor: 'WebGpuExecutor',
      ids: expected.tokenIds,
      text: expected.text,
    });
  }, 120_000);

  it('runs on the CPU executor with --executor cpu --threads 2: the reference greedy text', async () => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'In the beginning',
      '-n',
      '12',
      '--json',
      '--executor',
      'cpu',
      '--threads',
      '2',
    ]);
    expect(exitCode, stderr).toBe(0);
    const json = JSON.parse(stdout);
    const expected = await engineOutput('In the beginning', 12);
    expect(json).toMatchObject({
      executor: 'CpuWasmExecutor',
      ids: expected.tokenIds,
      text: expected.text,
    });
  });

  it.each([
    [
      ['--threads', '2', '--executor', 'reference'],
      "xinfer: threads: sets the CPU executor's threads: it needs executor 'cpu' or 'auto'\n",
    ],
    [
      ['--threads', '0'],
      "xinfer: option '--threads <n>' argument '0' is invalid. must be an integer ≥ 1 " +
        '(see xinfer generate --help)\n',
    ],
    [['--temperature', '5'], 'xinfer: temperature: must be in [0, 2], got 5\n'],
    [
      ['--max-tokens', 'many'],
      "xinfer: option '-n, --max-tokens <n>' argument 'many' is invalid. must be a number " +
        '(see xinfer generate --help)\n',
    ],
    [['--model', '/nowhere.gguf'], 'xinfer: /nowhere.gguf: cannot read: ENOENT'],
  ])('fails in one line on %j', async (args, message) => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'x',
      ...args,
    ]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^xinfer: [^\n]*\n$/);
    expect(stderr.startsWith(message)).toBe(true);
  });

  it('needs a prompt', async () => {
    const { stderr, exitCode } = await runXinfer(['generate', '--model', model]);
    expect(exitCode).toBe(1);
    expect(stderr).toBe(
      "xinfer: required option '-p, --prompt <text>' not specified (see xinfer generate --help)\n",
    );
  });
});

// A random model does not close strings or arrays on its own: every string and array is bounded.
const USER_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 8 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    tags: { type: 'array', items: { type: 'string', maxLength: 4 }, maxItems: 2 },
    admin: { type: 'boolean' },
  },
  required: ['name', 'age', 'tags', 'admin'],
};

/** Checks `value` against {@link USER_SCHEMA} by hand (Ajv is not a dependency of the CLI). */
function expectUser(value: unknown) {
  const user = value as Record<string, unknown>;
  expect(Object.keys(user)).toEqual(['name', 'age', 'tags', 'admin']);
  expect(typeof user.name).toBe('string');
  expect([...(user.name as string)].length).toBeLessThanOrEqual(8);
  expect(Number.isInteger(user.age)).toBe(true);
  expect(user.age).toBeGreaterThanOrEqual(0);
  expect(user.age).toBeLessThanOrEqual(120);
  expect(Array.isArray(user.tags)).toBe(true);
  const tags = user.tags as unknown[];
  expect(tags.length).toBeLessThanOrEqual(2);
  for (const tag of tags) {
    expect(typeof tag).toBe('string');
    expect([...(tag as string)].length).toBeLessThanOrEqual(4);
  }
  expect(typeof user.admin).toBe('boolean');
}

describe('xinfer generate with a constraint', () => {
  const generate = (args: string[], maxTokens = 120) =>
    runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'A user: ',
      '--max-tokens',
      String(maxTokens),
      '--temperature',
      '0',
      '--executor',
      'reference',
      ...args,
    ]);

  it('--json-schema <file>: stdout is JSON valid under the schema, without the prompt', async () => {
    const schema = file('user.schema.json', JSON.stringify(USER_SCHEMA, null, 2));
    const { stdout, stderr, exitCode } = await generate(['--json-schema', schema]);
    expect(exitCode, stderr).toBe(0);
    expect(stdout.endsWith('\n')).toBe(true);
    expectUser(JSON.parse(stdout));
    expect(stdout).not.toContain('\n  '); // compact: one line
    expect(stderr).toMatch(/\(stop\)\n$/);
  });

  it('-j <inline JSON> with --json-whitespace pretty, and --json output', async () => {
    const { stdout, stderr, exitCode } = await generate([
      '-j',
      JSON.stringify(USER_SCHEMA),
      '--json-whitespace',
      'pretty',
      '--json',
    ]);
    expect(exitCode, stderr).toBe(0);
    const json = JSON.parse(stdout) as { text: string; finish_reason: string };
    expect(json.finish_reason).toBe('stop');
    expect(json.text).toMatch(/^\{\n {2}"name": /);
    expectUser(JSON.parse(json.text));
  });

  it('--json-object: any JSON object', async () => {
    const { stdout, stderr, exitCode } = await generate(['--json-object']);
    expect(exitCode, stderr).toBe(0);
    const value = JSON.parse(stdout) as unknown;
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  });

  it.each([
    [['--grammar', 'root ::= "yes" | "no" | "maybe " [a-z]{2,4}'], /^(yes|no|maybe [a-z]{2,4})$/],
    [['--regex', '[0-9]{3}-[a-z]{2}'], /^[0-9]{3}-[a-z]{2}$/],
    [
      ['--choice', 'red', '--choice', 'green "light"', '--choice', 'blue'],
      /^(red|green "light"|blue)$/,
    ],
  ])('%j: the output matches', async (args, pattern) => {
    const { stdout, stderr, exitCode } = await generate(args, 40);
    expect(exitCode, stderr).toBe(0);
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.slice(0, -1)).toMatch(pattern);
    expect(stderr).toMatch(/\(stop\)\n$/);
  });

  it('--grammar-file: a GBNF file with several rules and a comment', async () => {
    const grammar = file(
      'sum.gbnf',
      '# a sum of up to three numbers\nroot ::= num (" + " num){0,2}\nnum ::= [1-9] [0-9]{0,2}\n',
    );
    const { stdout, stderr, exitCode } = await generate(['--grammar-file', grammar], 40);
    expect(exitCode, stderr).toBe(0);
    expect(stdout).toMatch(/^[1-9][0-9]{0,2}( \+ [1-9][0-9]{0,2}){0,2}\n$/);
  });

  it('notes on stderr when --max-tokens ends the output before the constraint is complete', async () => {
    const { stdout, stderr, exitCode } = await generate(['--regex', '[a-z]{20}'], 5);
    expect(exitCode, stderr).toBe(0);
    expect(stdout).toMatch(/^[a-z]{5}\n$/);
    expect(stderr).toMatch(
      /\(length\); the output may be incomplete: it stopped at --max-tokens\n$/,
    );
  });

  it.each([
    [
      ['--grammar', 'root ::= "a"', '--regex', 'a'],
      "xinfer: option '--grammar <gbnf>' cannot be used with option '--regex <pattern>' (see xinfer generate --help)\n",
    ],
    [
      ['--choice', 'a', '--json-object'],
      "xinfer: option '--json-object' cannot be used with option '--choice <text>' (see xinfer generate --help)\n",
    ],
    [
      ['--json-schema', '/nowhere/user.schema.json'],
      'xinfer: --json-schema: cannot read /nowhere/user.schema.json: no such file\n',
    ],
    [
      ['--grammar-file', '/nowhere/g.gbnf'],
      'xinfer: --grammar-file: cannot read /nowhere/g.gbnf: no such file\n',
    ],
    [
      ['-j', '{"type": "object",}'],
      /^xinfer: --json-schema: not valid JSON at line 1, column 19 \([^\n]+\)\n$/,
    ],
    [
      ['--regex', 'a', '--json-whitespace', 'pretty'],
      'xinfer: --json-whitespace needs --json-schema or --json-object\n',
    ],
    [
      ['--grammar', 'root ::= foo'],
      'xinfer: --grammar: the grammar does not compile: EBNF parser error at line 1, column 10: Rule "foo" is not defined\n',
    ],
    [['--regex', '[a-'], /^xinfer: --regex: the regex does not compile: [^\n]+\n$/],
    [['--choice', ''], 'xinfer: --choice: choices[0] must be a non-empty string, got ""\n'],
  ])('fails in one line, generating nothing, on %j', async (args, message) => {
    const { stdout, stderr, exitCode } = await generate(args);
    expect(exitCode).toBe(1);
    expect(stdout).toBe('');
    if (typeof message === 'string') expect(stderr).toBe(message);
    else expect(stderr).toMatch(message);
  });

  it('names the file of a schema that is not JSON, does not compile or uses an unsupported keyword', async () => {
    const cases: Array<[string, string, string | RegExp]> = [
      [
        'broken.schema.json',
        '{\n  "type": "object",\n  "properties": {,}\n}\n',
        /^not valid JSON at line 3, column 18 \([^\n]+\)\n$/,
      ],
      [
        'unique.schema.json',
        JSON.stringify({ type: 'array', items: { type: 'integer' }, uniqueItems: true }),
        'the grammar engine does not enforce uniqueItems (at #/uniqueItems); leave it out or check it after generation\n',
      ],
      [
        'min-properties.schema.json',
        JSON.stringify({
          type: 'object',
          minProperties: 2,
          properties: {},
          additionalProperties: false,
        }),
        /^the json schema does not compile: [^\n]*minProperties[^\n]*\n$/,
      ],
      [
        'bad.gbnf',
        'root ::= "a" undefined_rule\n',
        /^the grammar does not compile: [^\n]*undefined_rule[^\n]*\n$/,
      ],
    ];
    for (const [name, text, message] of cases) {
      const path = file(name, text);
      const option = name.endsWith('.gbnf') ? '--grammar-file' : '--json-schema';
      const { stdout, stderr, exitCode } = await generate([option, path]);
      expect(exitCode, name).toBe(1);
      expect(stdout, name).toBe('');
      const prefix = `xinfer: ${option} ${path}: `;
      expect(stderr.startsWith(prefix), stderr).toBe(true);
      const rest = stderr.slice(prefix.length);
      if (typeof message === 'string') expect(rest).toBe(message);
      else expect(rest).toMatch(message);
    }
  });
});
