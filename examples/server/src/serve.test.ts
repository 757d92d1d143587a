import fc from 'fast-check';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startServer } from './serve.js';
import { serversClosedAfterEach, tinyServer } from './test-helpers.js';

const serve = serversClosedAfterEach(tinyServer);

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A response's JSON body, as tests read it. */
// biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary response bodies
const json = (response: Response): Promise<any> => response.json();

/** Waits until `check` holds, polling; fails after a second. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('the server over HTTP', () => {
  it('binds 127.0.0.1 by default and answers /health', async () => {
    const { server, engine } = await serve();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    // The engine's own executor: 'auto' picks the CPU executor here, WebGPU on a hardware adapter.
    expect(await json(response)).toEqual({
      status: 'ok',
      model: 'tiny',
      executor: engine.info.executor,
    });
    expect(['CpuWasmExecutor', 'WebGpuExecutor']).toContain(engine.info.executor);
  });

  it('answers an unknown route with a 404 in the OpenAI error shape', async () => {
    const { server } = await serve();
    const response = await fetch(`${server.url}/v1/nope`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({
      error: {
        message: 'no route for POST /v1/nope',
        type: 'not_found_error',
        param: null,
        code: null,
      },
    });
  });

  it('rejects when the port is taken, leaving the first server up', async () => {
    const { server, engine } = await serve();
    const port = Number(new URL(server.url).port);
    await expect(startServer({ engine, port })).rejects.toThrow(/EADDRINUSE/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describe('the official openai client, unmodified', () => {
  it('lists models, completes a chat with and without streaming, and completes a prompt', async () => {
    const { server, engine } = await serve({}, { apiKey: 'sk-test' });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test' });

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);

    const messages = [{ role: 'user' as const, content: 'Hello' }];
    const chat = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 12,
      temperature: 0,
    });
    const expected = await engine.chat(messages, { maxTokens: 12, temperature: 0 }).result;
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0]?.message).toMatchObject({ role: 'assistant', content: expected.text });
    expect(chat.choices[0]?.finish_reason).toBe(expected.finishReason);
    expect(chat.usage).toEqual({
      prompt_tokens: expected.usage.promptTokens,
      completion_tokens: expected.usage.completionTokens,
      total_tokens: expected.usage.totalTokens,
    });

    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let streamedUsage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) streamedUsage = chunk.usage;
    }
    expect(text).toBe(expected.text);
    expect(finish).toBe(expected.finishReason);
    expect(streamedUsage?.completion_tokens).toBe(expected.usage.completionTokens);

    const completion = await client.completions.create({
      model: 'tiny',
      prompt: 'In the beginning',
      max_tokens: 10,
      temperature: 0,
    });
    const plain = await engine.generate('In the beginning', { maxTokens: 10, temperature: 0 })
      .result;
    expect(completion.choices[0]?.text).toBe(plain.text);
    expect(completion.usage?.prompt_tokens).toBe(plain.usage.promptTokens);
    expect(engine.metrics.numFreeBlocks).toBe(engine.metrics.numBlocks);
  });
});

describe('OpenAI parameters', () => {
  it('gives n choices that differ under a seed and reproduce with it', async () => {
    const { server } = await serve();
    const body = {
      model: 'tiny',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 8,
      n: 3,
      seed: 7,
      temperature: 1,
    };
    const a = await json(await post(`${server.url}/v1/chat/completions`, body));
    const b = await json(await post(`${server.url}/v1/chat/completions`, body));
    const texts = (r: { choices: Array<{ message: { content: string } }> }) =>
      r.choices.map((c) => c.message.content);
    expect(a.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
    expect(texts(a)).toEqual(texts(b));
    expect(new Set(texts(a)).size).toBeGreaterThan(1);
    expect(a.usage.completion_tokens).toBeGreaterThanOrEqual(3);
  });

  it('takes fields it does not implement when they ask for nothing, and refuses them otherwise', async () => {
    const { server } = await serve();
    const chat = await post(`${server.url}/v1/chat/completions`, {
      model: 'tiny',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
      logit_bias: {},
      tools: [],
      tool_choice: 'none',
      response_format: { type: 'text' },
    });
    expect(chat.status).toBe(200);
    const completion = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: 'Hi',
      max_tokens: 2,
      suffix: '',
      best_of: 1,
    });
    expect(completion.status).toBe(200);
    for (const [field, value] of [
      ['suffix', ' the end'],
      ['best_of', 3],
    ] as const) {
      const refused = await post(`${server.url}/v1/completions`, {
        model: 'tiny',
        prompt: 'Hi',
        [field]: value,
      });
      expect(refused.status).toBe(400);
      expect((await json(refused)).error).toMatchObject({ param: field });
    }
  });

  it('applies logit_bias: +100 on one token makes greedy decoding write only it', async () => {
    const { server } = await serve();
    const chat = await json(
      await post(`${server.url}/v1/chat/completions`, {
        model: 'tiny',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 4,
        temperature: 0,
        // Token 90 of the byte-level vocabulary is the byte 'Z'.
        logit_bias: { '90': 100 },
      }),
    );
    expect(chat.choices[0].message.content).toBe('ZZZZ');
  });

  it('stops at a stop string and reports chat and legacy logprobs', async () => {
    const { server } = await serve();
    const base = { model: 'tiny', prompt: 'x', max_tokens: 20, temperature: 0 };
    const full = await json(await post(`${server.url}/v1/completions`, base));
    const text: string = full.choices[0].text;
    const stop = [...text].slice(4, 6).join('');
    const cut = await json(await post(`${server.url}/v1/completions`, { ...base, stop }));
    expect(cut.choices[0]).toMatchObject({
      text: text.slice(0, text.indexOf(stop)),
      finish_reason: 'stop',
    });
    const legacy = await json(
      await post(`${server.url}/v1/completions`, {
        ...base,
        max_tokens: 4,
        logprobs: 2,
        echo: true,
      }),
    );
    expect(legacy.choices[0].text.startsWith('x')).toBe(true);
    expect(legacy.choices[0].logprobs.token_logprobs).toHaveLength(4);
    expect(Object.keys(legacy.choices[0].logprobs.top_logprobs[0]).length).toBeLessThanOrEqual(2);
    const chat = await json(
      await post(`${server.url}/v1/chat/completions`, {
        model: 'tiny',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 3,
        temperature: 0,
        logprobs: true,
        top_logprobs: 2,
      }),
    );
    const content = chat.choices[0].logprobs.content;
    expect(content).toHaveLength(3);
    expect(content[0].top_logprobs).toHaveLength(2);
    expect(content[0].logprob).toBe(content[0].top_logprobs[0].logprob);
  });
});

describe('bad input gets an OpenAI-shaped error and the right status', () => {
  const cases: Array<[string, unknown, number, Record<string, unknown>]> = [
    ['malformed JSON', '{"model": "tiny", "messages": [', 400, { type: 'invalid_request_error' }],
    [
      'a wrong type',
      { model: 'tiny', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' },
      400,
      { param: 'temperature' },
    ],
    [
      'an unknown model',
      { model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] },
      400,
      { code: 'model_not_found', param: 'model' },
    ],
    [
      'an out-of-range parameter',
      { model: 'tiny', messages: [{ role: 'user', content: 'x' }], temperature: 5 },
      400,
      { param: 'temperature', message: 'temperature: must be in [0, 2], got 5' },
    ],
    [
      'a prompt longer than the context',
      { model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(300) }] },
      400,
      { code: 'context_length_exceeded' },
    ],
    [
      'max_tokens past the context',
      { model: 'tiny', messages: [{ role: 'user', content: 'x' }], max_tokens: 1000 },
      400,
      { code: 'context_length_exceeded', param: 'max_tokens' },
    ],
    ['no messages', { model: 'tiny', messages: [] }, 400, { param: 'messages' }],
    [
      'a logit bias out of range',
      { model: 'tiny', messages: [{ role: 'user', content: 'x' }], logit_bias: { '42': -101 } },
      400,
      {
        param: 'logit_bias',
        message: 'logit_bias: the bias of token 42 must be in [-100, 100], got -101',
      },
    ],
    [
      'a logit bias on a token outside the vocabulary',
      { model: 'tiny', messages: [{ role: 'user', content: 'x' }], logit_bias: { '9999': 1 } },
      400,
      {
        param: 'logit_bias',
        message: 'logit_bias: token id 9999 is outside the vocabulary (0..256)',
      },
    ],
    [
      'a logit bias keyed by something other than a token id',
      { model: 'tiny', messages: [{ role: 'user', content: 'x' }], logit_bias: { abc: 1 } },
      400,
      { param: 'logit_bias.abc' },
    ],
    [
      "the old API's functions (tools are taken; see tools.test.ts)",
      {
        model: 'tiny',
        messages: [{ role: 'user', content: 'x' }],
        functions: [{ name: 'f' }],
      },
      400,
      { param: 'functions' },
    ],
  ];
  it.each(cases)('%s', async (_, body, status, error) => {
    const { server, engine } = await serve();
    const response = await post(`${server.url}/v1/chat/completions`, body);
    expect(response.status).toBe(status);
    expect((await json(response)).error).toMatchObject(error);
    expect(engine.hasPendingWork()).toBe(false);
  });

  it('refuses messages the chat template raises on (400), naming why', async () => {
    const { server, engine } = await serve({
      chatTemplate:
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}" +
        '{{ messages[0].content }}',
    });
    const response = await post(`${server.url}/v1/chat/completions`, {
      model: 'tiny',
      messages: [{ role: 'assistant', content: 'x' }],
    });
    expect(response.status).toBe(400);
    const { error } = await json(response);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain('first message must be from the user');
    expect(engine.hasPendingWork()).toBe(false);
  });

  it('asks for the API key when one is set (401)', async () => {
    const { server } = await serve({}, { apiKey: 'secret' });
    const body = { model: 'tiny', prompt: 'x', max_tokens: 1 };
    for (const headers of [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: 'secret' },
    ] as Array<Record<string, string>>) {
      const response = await post(`${server.url}/v1/completions`, body, headers);
      expect(response.status).toBe(401);
      expect((await json(response)).error.code).toBe('invalid_api_key');
    }
    const ok = await post(`${server.url}/v1/completions`, body, { Authorization: 'Bearer secret' });
    expect(ok.status).toBe(200);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('refuses a body over the size limit (413)', async () => {
    const { server } = await serve({}, { maxBodyBytes: 1024 });
    const response = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: 'x'.repeat(2000),
    });
    expect(response.status).toBe(413);
    expect((await json(response)).error.code).toBe('request_too_large');
  });

  it('answers 429 with Retry-After when the queue is full', async () => {
    // One sequence runs, one may wait: of three requests at once, one is turned away.
    const { server } = await serve({ maxNumSeqs: 1, maxBatchSize: 1, maxWaitingRequests: 1 });
    const body = { model: 'tiny', prompt: 'x', max_tokens: 200, temperature: 0 }; // greedy: no early EOS
    const responses = await Promise.all(
      [0, 1, 2].map(() => post(`${server.url}/v1/completions`, body)),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429]);
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await json(refused)).error.type).toBe('rate_limit_error');
  });

  it('never crashes on random bodies', async () => {
    const { server, engine } = await serve();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.record({
            model: fc.oneof(fc.constant('tiny'), fc.string()),
            messages: fc.anything(),
            max_tokens: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.anything()),
            temperature: fc.anything(),
          }),
        ),
        async (body) => {
          const response = await post(
            `${server.url}/v1/chat/completions`,
            typeof body === 'string' ? body : JSON.stringify(body),
          );
          expect([200, 400]).toContain(response.status);
          await response.text();
        },
      ),
      { numRuns: 60 },
    );
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await eventually(() => engine.metrics.numFreeBlocks === engine.metrics.numBlocks);
  });
});

describe('streams, disconnects and shutdown', () => {
  it('frees the KV blocks of a client that disconnects mid-stream', async () => {
    const { server, engine } = await serve();
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny',
        prompt: 'x', // greedy from 'x' runs 240 tokens without an end-of-sequence
        max_tokens: 240,
        temperature: 0,
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    expect(engine.metrics.numFreeBlocks).toBeLessThan(engine.metrics.numBlocks);
    controller.abort();
    await eventually(() => engine.metrics.numFreeBlocks === engine.metrics.numBlocks);
    expect(engine.metrics.requestsAborted).toBe(1);
    expect(engine.hasPendingWork()).toBe(false);
  });

  it('shuts down gracefully: in-flight requests finish, new ones are refused', async () => {
    const { server } = await serve();
    const inFlight = post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: 'x', // greedy from 'x' runs 200 tokens without an end-of-sequence
      max_tokens: 200,
      temperature: 0,
    });
    await eventually(() => server.app.inFlight === 1);
    const stopping = server.shutdown(10_000);
    const late = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'b' });
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('5');
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect((await json(done)).usage.completion_tokens).toBeGreaterThan(0);
    expect(await stopping).toEqual({ aborted: 0 });
  });

  it('aborts what is left at the shutdown deadline', async () => {
    const { server, engine } = await serve();
    const stream = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: 'x',
      max_tokens: 240,
      temperature: 0,
      stream: true,
    });
    await stream.body!.getReader().read();
    expect(await server.shutdown(20)).toEqual({ aborted: 1 });
    await eventually(() => engine.metrics.numFreeBlocks === engine.metrics.numBlocks);
  });

  it('exports Prometheus metrics', async () => {
    const { server } = await serve();
    await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'a', max_tokens: 3 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const line of [
      'xinfer_requests_total{endpoint="/v1/completions",status="200"} 1',
      'xinfer_time_to_first_token_seconds_count 1',
      'xinfer_inter_token_latency_seconds_count 2',
      'xinfer_generation_tokens_total 3',
      'xinfer_queue_depth 0',
      'xinfer_kv_cache_usage_ratio 0',
      'xinfer_preemptions_total 0',
    ]) {
      expect(text).toContain(line);
    }
  });

  it('serves the chat page', async () => {
    const { server } = await serve();
    const response = await fetch(`${server.url}/`);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toContain('<meta name="viewport"');
  });
});
