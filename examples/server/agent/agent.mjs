#!/usr/bin/env node
// An agent loop over `xinfer serve` with the official openai client's tools: the model calls
// functions, this script runs them and sends the results back as `tool` messages, until the model
// answers in text. Run a server with a model whose chat template has tool calls (Qwen 2.5/3,
// Hermes, Llama 3.1+, Mistral), then:
//
//   node examples/server/agent/agent.mjs --url http://127.0.0.1:8000/v1 "What is 17 + 25, and the weather in Paris?"
//
// Options: --url (default http://127.0.0.1:8000/v1), --api-key, --model (default: the served
// one), --stream (read tool calls from stream deltas), --max-turns (default 5).
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

/** The functions the model may call: their OpenAI descriptions and what runs them. */
export const TOOLS = {
  add: {
    description: 'Adds two integers.',
    parameters: {
      type: 'object',
      properties: {
        a: { type: 'integer', minimum: -1000, maximum: 1000 },
        b: { type: 'integer', minimum: -1000, maximum: 1000 },
      },
      required: ['a', 'b'],
      additionalProperties: false,
    },
    run: ({ a, b }) => ({ sum: a + b }),
  },
  get_weather: {
    description: 'The weather now in a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 40 } },
      required: ['city'],
      additionalProperties: false,
    },
    run: ({ city }) => ({ city, temperature_c: 18, sky: 'clear' }),
  },
};

const toolList = Object.entries(TOOLS).map(([name, t]) => ({
  type: 'function',
  function: { name, description: t.description, parameters: t.parameters },
}));

/** One assistant turn, read whole or assembled from stream deltas: its text and tool calls. */
async function turn(client, request, stream) {
  if (!stream) {
    const reply = await client.chat.completions.create(request);
    const choice = reply.choices[0];
    return {
      content: choice.message.content ?? '',
      toolCalls: choice.message.tool_calls ?? [],
      finish: choice.finish_reason,
    };
  }
  const chunks = await client.chat.completions.create({ ...request, stream: true });
  let content = '';
  const toolCalls = [];
  let finish = null;
  for await (const chunk of chunks) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    for (const d of choice.delta.tool_calls ?? []) {
      // The id and name come first, then argument fragments, keyed by index.
      toolCalls[d.index] ??= {
        id: d.id,
        type: 'function',
        function: { name: d.function?.name ?? '', arguments: '' },
      };
      toolCalls[d.index].function.arguments += d.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { content, toolCalls, finish };
}

/**
 * Runs the loop: asks, runs every call the model makes, sends the results, and stops when the
 * model answers without calls (or after `maxTurns`). Returns the transcript and the answer.
 */
export async function runAgent({
  baseURL,
  apiKey = 'none',
  model,
  question,
  stream = false,
  maxTurns = 5,
  toolChoice = 'auto',
  log = () => {},
}) {
  const client = new OpenAI({ baseURL, apiKey });
  const served = model ?? (await client.models.list()).data[0].id;
  const messages = [{ role: 'user', content: question }];
  for (let i = 0; i < maxTurns; i++) {
    const request = {
      model: served,
      messages,
      tools: toolList,
      // The first turn may be forced to call; later turns choose.
      tool_choice: i === 0 ? toolChoice : 'auto',
      max_tokens: 256,
      temperature: 0,
    };
    const { content, toolCalls, finish } = await turn(client, request, stream);
    if (toolCalls.length === 0) {
      messages.push({ role: 'assistant', content });
      return { messages, answer: content, finish };
    }
    messages.push({ role: 'assistant', content: content || null, tool_calls: toolCalls });
    for (const call of toolCalls) {
      const tool = TOOLS[call.function.name];
      const args = JSON.parse(call.function.arguments);
      const result = tool ? tool.run(args) : { error: `no tool ${call.function.name}` };
      log(`→ ${call.function.name}(${call.function.arguments}) = ${JSON.stringify(result)}`);
      messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
    }
  }
  return { messages, answer: undefined, finish: 'max_turns' };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8000/v1' },
      'api-key': { type: 'string', default: process.env.OPENAI_API_KEY ?? 'none' },
      model: { type: 'string' },
      stream: { type: 'boolean', default: false },
      'max-turns': { type: 'string', default: '5' },
    },
  });
  const question = positionals.join(' ') || 'What is 17 + 25? Use the add tool.';
  const { answer, finish } = await runAgent({
    baseURL: values.url,
    apiKey: values['api-key'],
    model: values.model,
    question,
    stream: values.stream,
    maxTurns: Number(values['max-turns']),
    log: (line) => console.error(line),
  });
  console.log(answer ?? `(no answer after ${values['max-turns']} turns: ${finish})`);
}
