import { demoModelPath } from '@x/demo-model';
import type { Token } from 'node-llama-cpp';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OpenAiErrorBody } from './errors.js';
import { type LlamaServer, startLlamaServer } from './llama-server.js';
import { textPromptTokens } from './prompt.js';
import { createOracle, type Oracle, sseEvents } from './test-helpers.js';

// The demo model (a base model, no chat template) in llama.cpp twice: behind the server, and in
// a one-sequence context of the test's own as the oracle for what greedy decoding gives.
let server: LlamaServer;
let client: OpenAI;
let oracle: Oracle;

const PROMPTS = [
  'And the LORD said',
  'In the beginning',
  'Jesus wept.',
  'Blessed are the',
  'And Moses went up',
  'The LORD is my shepherd',
  'Selah.',
  'And it came to pass',
];

/** Ids of a one-message chat on a base model: BOS and the trimmed text. */
const promptIds = (text: string): Token[] => textPromptTokens(oracle.model, text.trim());

/** One streamed chat completion, read as `xinfer bench` reads it. */
async function streamChat(content: string, maxTokens: number) {
  const response = await fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({
      model: server.modelId,
      messages: [{ role: 'user', content }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  expect(response.status).toBe(200);
  const events = await sseEvents(response);
  expect(events.at(-1)).toBe('[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  return {
    text: chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''),
    finishReason: chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason,
    usage: chunks.at(-1).usage,
  };
}

/** What `GET /health` says. */
interface Health {
  free_sequences: number;
  waiting: number;
  batching: { decode_calls: number; tokens: number; sequences: number; max_sequences: number };
}

async function health(): Promise<Health> {
  return (await (await fetch(server.url.replace(/\/v1$/, '/health'))).json()) as Health;
}

beforeAll(async () => {
  server = await startLlamaServer({ modelPath: demoModelPath, sequences: 8, threads: 1 });
  client = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
  oracle = await createOracle(demoModelPath);
});

afterAll(async () => {
  await server?.close();
  await oracle?.dispose();
});

describe('llama-server over the demo model', () => {
  it('lists the model and reports health', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['kjv-demo-5.6M-Q8_0']);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(await health()).toMatchObject({
      status: 'ok',
      model: 'kjv-demo-5.6M-Q8_0',
      sequences: 8,
      free_sequences: 8,
      context_size: 256,
    });
  });

  it("streams llama.cpp's own greedy continuation to the openai client, usage in the last chunk", async () => {
    const want = await oracle.greedy(promptIds('And the LORD said'), 24);
    const stream = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: '  And the LORD said ' }],
      max_tokens: 24,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let contentChunks = 0;
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      finishReason = choice?.finish_reason ?? finishReason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(want.text);
    expect(text.startsWith(' unto')).toBe(true); // a continuation keeps its leading space
    expect(contentChunks).toBe(24); // one chunk a token: what TTFT and inter-token times measure
    expect(finishReason).toBe('length');
    expect(usage).toEqual({ prompt_tokens: 5, completion_tokens: 24, total_tokens: 29 });
  });

  it('answers a non-streaming chat completion with the same text and usage', async () => {
    const want = await oracle.greedy(promptIds('And the LORD said'), 24);
    const completion = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'And the LORD said' }],
      max_tokens: 24,
      temperature: 0,
    });
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: want.text });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 24 });
  });

  it("renders several messages as xinfer's engine renders them for a base model", async () => {
    const text = 'Be brief.\nAnd the LORD said';
    const want = await oracle.greedy(promptIds(text), 12);
    const completion = await client.chat.completions.create({
      model: server.modelId,
      messages: [
        { role: 'system', content: ' Be brief. ' },
        { role: 'user', content: '\tAnd the LORD said\n' },
      ],
      max_tokens: 12,
      temperature: 0,
    });
    expect(completion.choices[0]?.message.content).toBe(want.text);
    expect(completion.usage?.prompt_tokens).toBe(promptIds(text).length);
  });

  it('stops at EOS with finish_reason stop, the EOS token counted as generated', async () => {
    // The demo model ends this verse at once.
    const prompt = 'In the beginning God created the heaven and the earth.';
    const want = await oracle.greedy(promptIds(prompt), 64);
    expect(want.finishReason).toBe('stop');
    const got = await streamChat(prompt, 64);
    expect(got).toEqual({
      text: want.text,
      finishReason: 'stop',
      usage: {
        prompt_tokens: promptIds(prompt).length,
        completion_tokens: want.tokens.length,
        total_tokens: promptIds(prompt).length + want.tokens.length,
      },
    });
  });

  it('streams and answers /v1/completions for a text prompt', async () => {
    const want = await oracle.greedy(promptIds('Blessed are the'), 10);
    const completion = await client.completions.create({
      model: server.modelId,
      prompt: 'Blessed are the',
      max_tokens: 10,
      temperature: 0,
    });
    expect(completion.choices[0]?.text).toBe(want.text);
    expect(completion.usage?.completion_tokens).toBe(10);
    const stream = await client.completions.create({
      model: server.modelId,
      prompt: 'Blessed are the',
      max_tokens: 10,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(want.text);
  });

  it('runs 8 concurrent streams to their exact lengths, each as it would run alone', async () => {
    const wants = await Promise.all(PROMPTS.map((p) => oracle.greedy(promptIds(p), 32)));
    const gots = await Promise.all(PROMPTS.map((p) => streamChat(p, 32)));
    gots.forEach((got, i) => {
      expect(got.text).toBe(wants[i]?.text);
      expect(got.usage.completion_tokens).toBe(wants[i]?.tokens.length);
      expect(got.finishReason).toBe(wants[i]?.finishReason);
    });
  });

  it('decodes concurrent streams together: 8 sequences share llama_decode calls', async () => {
    const before = (await health()).batching;
    await Promise.all(PROMPTS.map((p) => streamChat(p, 48)));
    const after = (await health()).batching;
    const batches = after.decode_calls - before.decode_calls;
    const tokens = after.tokens - before.tokens;
    // 8 × 48 generated tokens (and the prompts) in far fewer llama_decode calls than tokens: the
    // sequences share batches, up to all 8 in one. (What that buys in speed is measured by
    // pnpm bench:compare, not asserted here.)
    expect(after.max_sequences).toBeGreaterThan(1);
    expect(batches, `${batches} batches for ${tokens} tokens`).toBeLessThan(tokens / 3);
  });

  it('queues requests beyond the 8 sequences until one is free', async () => {
    const prompts = [...PROMPTS, 'Amen.', 'Praise ye the LORD', 'And God said'];
    const wants = await Promise.all(prompts.map((p) => oracle.greedy(promptIds(p), 16)));
    const gots = await Promise.all(prompts.map((p) => streamChat(p, 16)));
    expect(gots.map((g) => g.text)).toEqual(wants.map((w) => w.text));
    // Each sequence is cleared once its answer has left, so the last may still be on its way back.
    await vi.waitFor(async () =>
      expect(await health()).toMatchObject({ free_sequences: 8, waiting: 0 }),
    );
  });

  it('stops generating for a client that disconnects mid-stream and frees its sequence', async () => {
    const tokensBefore = (await health()).batching.tokens;
    await Promise.all(
      PROMPTS.map(async (content) => {
        const controller = new AbortController();
        const response = await fetch(`${server.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            messages: [{ role: 'user', content }],
            max_tokens: 200,
            temperature: 0,
            stream: true,
          }),
          signal: controller.signal,
        });
        // As `xinfer bench --disconnect-fraction` leaves: leaving the loop cancels the body and
        // the connection closes. (Aborting inside the loop can leave undici's body pending.)
        let reads = 0;
        for await (const _ of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (++reads === 3) break;
        }
        controller.abort();
      }),
    );
    await vi.waitFor(async () => expect((await health()).free_sequences).toBe(8), {
      timeout: 10_000,
    });
    // Each asked for 200 tokens and read a few: generation stopped soon after, not at 200.
    expect((await health()).batching.tokens - tokensBefore).toBeLessThan(PROMPTS.length * 50);
    const wants = await Promise.all(PROMPTS.map((p) => oracle.greedy(promptIds(p), 16)));
    const gots = await Promise.all(PROMPTS.map((p) => streamChat(p, 16)));
    expect(gots.map((g) => g.text)).toEqual(wants.map((w) => w.text));
    expect(gots.map((g) => g.usage.completion_tokens)).toEqual(wants.map((w) => w.tokens.length));
  });

  it('answers bad input with 400 and an OpenAI-shaped error body', async () => {
    const post = async (body: string) => {
      const response = await fetch(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, body: (await response.json()) as OpenAiErrorBody };
    };
    const shape = {
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: expect.toBeOneOf([expect.any(String), null]),
        code: expect.toBeOneOf([expect.any(String), null]),
      },
    };
    const malformed = await post('{"messages": [');
    expect(malformed).toMatchObject({ status: 400, body: shape });
    expect(malformed.body.error.message).toMatch(/not valid JSON/);
    const missing = await post(JSON.stringify({ model: 'x', max_tokens: 4 }));
    expect(missing).toMatchObject({ status: 400, body: shape });
    expect(missing.body.error.param).toBe('messages');
    const tooLong = await post(
      JSON.stringify({ messages: [{ role: 'user', content: 'Amen' }], max_tokens: 1000 }),
    );
    expect(tooLong.body.error).toMatchObject({
      code: 'context_length_exceeded',
      param: 'max_tokens',
    });
    // The official client reads the body into its error.
    await expect(
      client.chat.completions.create({ model: server.modelId, messages: [] }),
    ).rejects.toMatchObject({ status: 400, type: 'invalid_request_error', param: 'messages' });
    const notFound = await fetch(`${server.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
  });
});
