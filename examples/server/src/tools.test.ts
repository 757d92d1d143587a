// Tool calling over HTTP through the unmodified openai client, for each family's format (Hermes/
// Qwen <tool_call>, Llama 3 JSON, Mistral [TOOL_CALLS], Phi-4-mini <|tool_call|>): forced calls whose arguments hold to
// the function's schema, parallel calls, streamed tool_calls deltas (id and name first, then
// argument fragments, nothing leaked into content), tool results rendered back through the
// template, and the agent example's loop.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example script without types
import { runAgent, TOOLS } from '../agent/agent.mjs';
import { fixtureTemplate, serversClosedAfterEach, templatedServer } from './test-helpers.js';

const serve = serversClosedAfterEach(templatedServer);

const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'add',
      description: 'Adds two integers.',
      parameters: {
        type: 'object',
        properties: {
          a: { type: 'integer', minimum: -99, maximum: 99 },
          b: { type: 'integer', minimum: -99, maximum: 99 },
        },
        required: ['a', 'b'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { enum: ['Paris', 'Oslo', 'Lima'] } },
        required: ['city'],
        additionalProperties: false,
      },
    },
  },
];

/** Checks a call's arguments against its function's schema (by hand: the schemas are small). */
function expectValidCall(call: { function: { name: string; arguments: string } }) {
  const args = JSON.parse(call.function.arguments);
  if (call.function.name === 'add') {
    expect(Object.keys(args).sort()).toEqual(['a', 'b']);
    for (const v of [args.a, args.b]) expect(Number.isInteger(v) && v >= -99 && v <= 99).toBe(true);
  } else {
    expect(call.function.name).toBe('get_weather');
    expect(['Paris', 'Oslo', 'Lima']).toContain(args.city);
  }
}

const FAMILIES = [
  {
    name: 'Hermes/Qwen 2.5 (<tool_call>)',
    template: 'Qwen-Qwen2.5-7B-Instruct.jinja',
    parallel:
      'Let me check.<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
    content: 'Let me check.',
    callId: 'call_abcdefghijklmnopqrstuvwx',
  },
  {
    name: 'Llama 3.2 (JSON)',
    template: 'meta-llama-Llama-3.2-3B-Instruct.jinja',
    parallel:
      '{"name": "add", "parameters": {"a": 2, "b": 3}}; {"name": "get_weather", "parameters": {"city": "Oslo"}}',
    content: '',
    callId: 'call_abcdefghijklmnopqrstuvwx',
  },
  {
    name: 'Mistral Nemo ([TOOL_CALLS])',
    template: 'mistralai-Mistral-Nemo-Instruct-2407.jinja',
    parallel:
      '[TOOL_CALLS][{"name": "add", "arguments": {"a": 2, "b": 3}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]',
    content: '',
    // Mistral's templates take ids of 9 letters and digits, and the server makes them so.
    callId: 'abcdefghi',
  },
  {
    name: 'Phi-4-mini (<|tool_call|>)',
    template: 'llama-cpp-microsoft-Phi-4-mini-instruct.jinja',
    // llama.cpp's template, kept with @x/model's tool-call fixtures. It loops over every message's
    // tool_calls, which @huggingface/jinja refuses when a message has none (Python's Jinja loops
    // over nothing), so the loop is given `or []` here.
    templateSource: readFileSync(
      new URL(
        '../../../packages/model/src/tool-calls/fixtures/llama-cpp-microsoft-Phi-4-mini-instruct.jinja',
        import.meta.url,
      ),
      'utf8',
    ).replace('in message.tool_calls', 'in (message.tool_calls or [])'),
    parallel:
      'Let me check.<|tool_call|>{"name": "add", "arguments": {"a": 2, "b": 3}}<|/tool_call|>' +
      '<|tool_call|>{"name": "get_weather", "arguments": {"city": "Oslo"}}<|/tool_call|>',
    content: 'Let me check.',
    callId: 'call_abcdefghijklmnopqrstuvwx',
  },
] as const;

/** Reads a streamed reply: content, calls assembled from deltas, finish reason, and checks order. */
async function readStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  let content = '';
  const calls: Array<{ id: string; function: { name: string; arguments: string } }> = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    for (const d of choice.delta.tool_calls ?? []) {
      if (!calls[d.index]) {
        // A call's first delta carries its id and name, with empty arguments.
        expect(d.id).toMatch(/^(call_[A-Za-z0-9]{24}|[A-Za-z0-9]{9})$/);
        expect(d.function?.name).toBeTruthy();
        calls[d.index] = { id: d.id!, function: { name: d.function!.name!, arguments: '' } };
      } else {
        expect(d.id).toBeUndefined();
      }
      calls[d.index]!.function.arguments += d.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { content, calls, finish };
}

describe.each(FAMILIES)('tool calls in the $name format', (family) => {
  const template =
    'templateSource' in family ? family.templateSource : fixtureTemplate(family.template);

  it('forced by tool_choice (required, then a named function), arguments valid, streamed and not', async () => {
    const { server, engine } = await serve(template);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const messages = [{ role: 'user' as const, content: 'Add 2 and 3.' }];
    for (const seed of [1, 2, 3]) {
      const reply = await client.chat.completions.create({
        model: 'tiny',
        messages,
        tools,
        tool_choice: 'required',
        // One call, then the end (parallel calls are the next test's).
        parallel_tool_calls: false,
        max_tokens: 600,
        seed,
        logit_bias: { '34': 3, '125': 3 },
      });
      const choice = reply.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.tool_calls?.length).toBeGreaterThanOrEqual(1);
      for (const call of choice.message.tool_calls ?? []) {
        expect(call.type).toBe('function');
        if (call.type === 'function') expectValidCall(call);
      }
    }
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 600,
      stream: true,
    });
    const { content, calls, finish } = await readStream(stream);
    expect(finish).toBe('tool_calls');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.function.name).toBe('get_weather');
    expectValidCall(calls[0]!);
    // Nothing of the call's markup reaches content.
    expect(content).not.toMatch(/tool_call|TOOL_CALLS|"name"/);
    expect(engine.metrics.numFreeBlocks).toBe(engine.metrics.numBlocks);
  });

  it('parses parallel calls, and streams them as the non-streamed reply has them', async () => {
    const { server } = await serve(template, () => family.parallel);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const request = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'Add 2 and 3, and the weather in Oslo.' }],
      tools,
      parallel_tool_calls: true,
    };
    const reply = await client.chat.completions.create(request);
    const message = reply.choices[0]!.message;
    expect(reply.choices[0]!.finish_reason).toBe('tool_calls');
    expect(message.content ?? '').toBe(family.content);
    const calls = (message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [c] : []));
    expect(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['add', { a: 2, b: 3 }],
      ['get_weather', { city: 'Oslo' }],
    ]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    for (const c of calls) {
      expect(c.id).toMatch(
        family.callId.startsWith('call_') ? /^call_[A-Za-z0-9]{24}$/ : /^[A-Za-z0-9]{9}$/,
      );
    }
    const streamed = await readStream(
      await client.chat.completions.create({ ...request, stream: true }),
    );
    expect(streamed.finish).toBe('tool_calls');
    expect(streamed.content).toBe(family.content);
    expect(streamed.calls.map((c) => [c.function.name, c.function.arguments])).toEqual(
      calls.map((c) => [c.function.name, c.function.arguments]),
    );
  });

  it('renders tool results back through the template, and tool_choice none answers in text', async () => {
    const seen: string[] = [];
    const { server } = await serve(template, (prompt) => {
      seen.push(prompt);
      return 'It is 5.';
    });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const reply = await client.chat.completions.create({
      model: 'tiny',
      tools,
      tool_choice: 'none',
      messages: [
        { role: 'user', content: 'Add 2 and 3.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: family.callId,
              type: 'function',
              function: { name: 'add', arguments: '{"a": 2, "b": 3}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: family.callId, content: '{"sum": 5}' },
      ],
    });
    expect(reply.choices[0]!.message.content).toBe('It is 5.');
    expect(reply.choices[0]!.message.tool_calls).toBeUndefined();
    expect(reply.choices[0]!.finish_reason).toBe('stop');
    // The prompt holds the tools, the call and its result, as the family's template writes them.
    expect(seen[0]).toContain('get_weather');
    // (Llama 3.2's writes the result as a JSON string, its quotes escaped.)
    expect(seen[0]).toMatch(/sum\\?": 5/);
    expect(seen[0]).toMatch(/"a": 2/);
  });
});

describe('the agent example (examples/server/agent/agent.mjs)', () => {
  it('runs a tool, sends its result, and ends on the answer, streamed and not', async () => {
    const template = fixtureTemplate('Qwen-Qwen2.5-7B-Instruct.jinja');
    const { server } = await serve(template, (prompt) =>
      prompt.includes('"sum":42')
        ? 'The sum is 42.'
        : '<tool_call>\n{"name": "add", "arguments": {"a": 17, "b": 25}}\n</tool_call>',
    );
    for (const stream of [false, true]) {
      const lines: string[] = [];
      const { answer, messages } = await runAgent({
        baseURL: `${server.url}/v1`,
        question: 'What is 17 + 25?',
        stream,
        log: (line: string) => lines.push(line),
      });
      expect(answer).toBe('The sum is 42.');
      expect(lines).toEqual(['→ add({"a": 17, "b": 25}) = {"sum":42}']);
      expect(messages.map((m: { role: string }) => m.role)).toEqual([
        'user',
        'assistant',
        'tool',
        'assistant',
      ]);
    }
    expect(Object.keys(TOOLS)).toEqual(['add', 'get_weather']);
  });
});

describe('tool calls for a template that has none (Gemma 2): the generic JSON format', () => {
  const template = fixtureTemplate('google-gemma-2-2b-it.jinja');

  it('forces a call held to its schema, and reads parallel calls and answers', async () => {
    const { server } = await serve(template);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const forced = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 600,
    });
    expect(forced.choices[0]!.finish_reason).toBe('tool_calls');
    const call = forced.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    if (call?.type === 'function') expectValidCall(call);
  });

  it('reads parallel calls, streamed and not, and a JSON answer as plain content', async () => {
    const seen: string[] = [];
    const { server } = await serve(template, (prompt) => {
      seen.push(prompt);
      return prompt.includes('Result of call')
        ? '{"response": "It is 5."}'
        : '{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]}';
    });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const request = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'Add 2 and 3.' }],
      tools,
    };
    const reply = await client.chat.completions.create(request);
    expect(reply.choices[0]!.finish_reason).toBe('tool_calls');
    const calls = (reply.choices[0]!.message.tool_calls ?? []).flatMap((c) =>
      c.type === 'function' ? [c] : [],
    );
    expect(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['add', { a: 2, b: 3 }],
      ['get_weather', { city: 'Oslo' }],
    ]);
    const streamed = await readStream(
      await client.chat.completions.create({ ...request, stream: true }),
    );
    expect(streamed.content).toBe('');
    expect(streamed.calls.map((c) => c.function.name)).toEqual(['add', 'get_weather']);
    // The tools and the reply format are in the first user turn (Gemma's template has no system).
    expect(seen[0]).toContain('You can call these functions');
    expect(seen[0]).toContain('"name":"get_weather"');
    const answer = await client.chat.completions.create({
      ...request,
      messages: [
        ...request.messages,
        { role: 'assistant', content: null, tool_calls: [calls[0]!] },
        { role: 'tool', tool_call_id: calls[0]!.id, content: '{"sum": 5}' },
      ],
    });
    expect(answer.choices[0]!.message.content).toBe('It is 5.');
    expect(answer.choices[0]!.finish_reason).toBe('stop');
    expect(seen.at(-1)).toContain('{"tool_calls":[{"name":"add","arguments":{"a":2,"b":3}}]}');
  });
});

describe('tool requests the server refuses (400 naming the field)', () => {
  const post = (url: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const base = { model: 'tiny', messages: [{ role: 'user', content: 'x' }] };
  const cases: Array<[string, string, Record<string, unknown>, string, RegExp]> = [
    [
      'a named function not in tools',
      'Qwen-Qwen2.5-7B-Instruct.jinja',
      { tools, tool_choice: { type: 'function', function: { name: 'nope' } } },
      'tool_choice',
      /no function named "nope"/,
    ],
    [
      'tools with structured output',
      'Qwen-Qwen2.5-7B-Instruct.jinja',
      { tools, response_format: { type: 'json_object' } },
      'tools',
      /not supported together/,
    ],
    [
      'tool_choice without tools',
      'Qwen-Qwen2.5-7B-Instruct.jinja',
      { tool_choice: 'required' },
      'tool_choice',
      /needs tools/,
    ],
    [
      'arguments that are not a JSON object',
      'Qwen-Qwen2.5-7B-Instruct.jinja',
      {
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'add', arguments: '[1' } }],
          },
        ],
      },
      'messages.1.tool_calls.0.function.arguments',
      /must be a JSON object/,
    ],
    [
      'a bad function name',
      'Qwen-Qwen2.5-7B-Instruct.jinja',
      { tools: [{ type: 'function', function: { name: 'a b' } }] },
      'tools.0.function.name',
      /letters, digits/,
    ],
    [
      'parameters with a keyword the grammar engine would not enforce',
      'Qwen-Qwen2.5-7B-Instruct.jinja',
      {
        tools: [
          {
            type: 'function',
            function: {
              name: 'f',
              parameters: {
                type: 'object',
                properties: { xs: { type: 'array', uniqueItems: true } },
              },
            },
          },
        ],
        tool_choice: 'required',
      },
      'tools',
      /does not enforce uniqueItems \(at #\/properties\/xs\/uniqueItems\)/,
    ],
  ];
  it.each(cases)('%s', async (_, template, fields, param, message) => {
    const { server, engine } = await serve(fixtureTemplate(template));
    const response = await post(`${server.url}/v1/chat/completions`, { ...base, ...fields });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
    expect(engine.hasPendingWork()).toBe(false);
  });
});
