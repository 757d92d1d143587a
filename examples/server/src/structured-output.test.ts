// Structured output over HTTP: OpenAI's response_format through the unmodified openai client,
// streamed and not; llama.cpp's grammar/json_schema and vLLM's guided_*/structured_outputs on
// both endpoints; every bad or conflicting field a 400 naming it, nothing queued.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { serversClosedAfterEach, tinyServer } from './test-helpers.js';

const serve = serversClosedAfterEach(() => tinyServer());

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

// biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary response bodies
const json = (response: Response): Promise<any> => response.json();

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 8 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    role: { enum: ['admin', 'user'] },
  },
  required: ['name', 'age', 'role'],
  additionalProperties: false,
} as const;

/** Checks a person by hand: the fields, their types and bounds, nothing else. */
function isPerson(text: string): boolean {
  expectPerson(text);
  return true;
}

function expectPerson(text: string) {
  const value = JSON.parse(text);
  expect(Object.keys(value).sort()).toEqual(['age', 'name', 'role']);
  expect(typeof value.name === 'string' && [...value.name].length <= 8).toBe(true);
  expect(Number.isInteger(value.age) && value.age >= 0 && value.age <= 120).toBe(true);
  expect(['admin', 'user']).toContain(value.role);
}

/** Both endpoints, with the prompt field each takes. */
const ENDPOINTS = [
  ['chat/completions', { messages: [{ role: 'user', content: 'x' }] }],
  ['completions', { prompt: 'x' }],
] as const;

// A tiny random model does not close strings by itself: favour `"` and `}` as a trained one would.
const closing = { '34': 4, '125': 4 };

describe('structured output through the openai client, unmodified', () => {
  it('response_format json_schema (strict), streamed and not, validates and matches the engine', async () => {
    const { server, engine } = await serve();
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const messages = [{ role: 'user' as const, content: 'Who are you?' }];
    const response_format = {
      type: 'json_schema' as const,
      json_schema: { name: 'person', strict: true, schema: person },
    };
    const chat = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 120,
      temperature: 0,
      logit_bias: closing,
      response_format,
    });
    const content = chat.choices[0]?.message.content ?? '';
    expectPerson(content);
    expect(chat.choices[0]?.finish_reason).toBe('stop');
    const direct = await engine.chat(messages, {
      maxTokens: 120,
      temperature: 0,
      logitBias: new Map([
        [34, 4],
        [125, 4],
      ]),
      constraint: { type: 'json_schema', schema: person },
    }).result;
    expect(content).toBe(direct.text);

    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 120,
      temperature: 0.8,
      seed: 5,
      logit_bias: closing,
      response_format,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expectPerson(streamed);
    expect(engine.metrics.numFreeBlocks).toBe(engine.metrics.numBlocks);
  });

  it('JSON mode gives an object, on chat and on completions, for each of n choices', async () => {
    const { server } = await serve();
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const chat = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'JSON please' }],
      max_tokens: 150,
      n: 3,
      seed: 1,
      logit_bias: { '34': 8, '125': 8 },
      response_format: { type: 'json_object' },
    });
    for (const choice of chat.choices) {
      expect(choice.finish_reason, choice.message.content ?? '').toBe('stop');
      const value = JSON.parse(choice.message.content ?? '');
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    }
    const completion = await client.completions.create({
      model: 'tiny',
      prompt: 'x',
      max_tokens: 150,
      seed: 2,
      logit_bias: { '34': 8, '125': 8 },
      // biome-ignore lint/suspicious/noExplicitAny: response_format on completions is vLLM's and llama.cpp's extension
      ...({ response_format: { type: 'json_object' } } as any),
    });
    expect(typeof JSON.parse(completion.choices[0]?.text ?? '')).toBe('object');
  });
});

describe("llama.cpp's and vLLM's structured-output fields", () => {
  const cases: Array<[string, Record<string, unknown>, (text: string) => boolean]> = [
    [
      'grammar (GBNF)',
      { grammar: 'root ::= ("yes" | "no") " " [0-9]{2}' },
      (t) => /^(yes|no) \d{2}$/.test(t),
    ],
    ['json_schema', { json_schema: person }, isPerson],
    [
      'response_format.schema (llama.cpp)',
      { response_format: { type: 'json_object', schema: person } },
      isPerson,
    ],
    ['guided_json as an object', { guided_json: person }, isPerson],
    ['guided_json as JSON text', { guided_json: JSON.stringify(person) }, isPerson],
    ['guided_regex', { guided_regex: '[a-f]{3}-[0-9]{2}' }, (t) => /^[a-f]{3}-\d{2}$/.test(t)],
    [
      'guided_choice',
      { guided_choice: ['red', 'green', 'blue'] },
      (t) => ['red', 'green', 'blue'].includes(t),
    ],
    [
      'guided_grammar with guided_decoding_backend xgrammar',
      { guided_grammar: 'root ::= "a"+ "b"', guided_decoding_backend: 'xgrammar' },
      (t) => /^a+b$/.test(t),
    ],
    ['structured_outputs.json', { structured_outputs: { json: person } }, isPerson],
    [
      'structured_outputs.choice',
      { structured_outputs: { choice: ['up', 'down'] } },
      (t) => ['up', 'down'].includes(t),
    ],
    [
      'structured_outputs.regex',
      { structured_outputs: { regex: '[0-9]{4}' } },
      (t) => /^\d{4}$/.test(t),
    ],
    [
      'structured_outputs.grammar',
      { structured_outputs: { grammar: 'root ::= "ok"' } },
      (t) => t === 'ok',
    ],
    [
      'structured_outputs.json_object with any whitespace',
      { structured_outputs: { json_object: true, disable_any_whitespace: false } },
      (t) => typeof JSON.parse(t) === 'object',
    ],
  ];
  it.each(cases)('%s constrains chat and completions', async (_, fields, check) => {
    const { server, engine } = await serve();
    for (const [path, body] of ENDPOINTS) {
      const response = await post(`${server.url}/v1/${path}`, {
        model: 'tiny',
        max_tokens: 150,
        seed: 3,
        logit_bias: closing,
        ...body,
        ...fields,
      });
      const reply = await json(response);
      expect(response.status, JSON.stringify(reply)).toBe(200);
      const text =
        path === 'completions' ? reply.choices[0].text : reply.choices[0].message.content;
      expect(check(text), text).toBe(true);
      expect(reply.choices[0].finish_reason).toBe('stop');
    }
    expect(engine.metrics.numFreeBlocks).toBe(engine.metrics.numBlocks);
  });

  it('lets empty fields pass as asking for nothing', async () => {
    const { server } = await serve();
    const response = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: 'x',
      max_tokens: 2,
      grammar: '',
      guided_choice: [],
      response_format: { type: 'text' },
    });
    expect(response.status).toBe(200);
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'two constraints',
      { response_format: { type: 'json_object' }, guided_regex: 'a' },
      'guided_regex',
      /response_format and guided_regex each ask for structured output/,
    ],
    [
      'a GBNF grammar that does not parse',
      { grammar: 'root ::= missing' },
      'grammar',
      /grammar: the grammar does not compile: .*missing/,
    ],
    [
      'a regex that does not parse',
      { guided_regex: '(ab' },
      'guided_regex',
      /regex does not compile/,
    ],
    [
      'a schema keyword xgrammar would not enforce',
      {
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'x', schema: { type: 'array', uniqueItems: true } },
        },
      },
      'response_format',
      /does not enforce uniqueItems/,
    ],
    [
      'guided_json text that is not JSON',
      { guided_json: '{"type": ' },
      'guided_json',
      /guided_json: not JSON/,
    ],
    [
      'another guided_decoding_backend',
      { guided_choice: ['a'], guided_decoding_backend: 'outlines' },
      'guided_decoding_backend',
      /xgrammar only/,
    ],
    [
      'guided_whitespace_pattern',
      { guided_json: person, guided_whitespace_pattern: ' ' },
      'guided_whitespace_pattern',
      /not supported/,
    ],
    [
      'an unknown structured_outputs key',
      { structured_outputs: { jsn: {} } },
      'structured_outputs',
      /jsn/,
    ],
    [
      'an unknown response_format type',
      { response_format: { type: 'xml' } },
      'response_format.type',
      /./,
    ],
  ];
  it.each(bad)('%s is a 400 naming the field', async (_, fields, param, message) => {
    const { server, engine } = await serve();
    for (const [path, body] of ENDPOINTS) {
      const response = await post(`${server.url}/v1/${path}`, {
        model: 'tiny',
        ...body,
        ...fields,
      });
      expect(response.status).toBe(400);
      const { error } = await json(response);
      expect(error.param).toBe(param);
      expect(error.message).toMatch(message);
    }
    expect(engine.hasPendingWork()).toBe(false);
  });
});
