// The server's routes (OpenAI's completions and chat, models, health, metrics, the chat page) and
// their streaming responses: about 590 lines, one closure over the engine and the server's
// drain/in-flight state. Splitting the response writer out is left to the server's own issue.
import { timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import {
  type Constraint,
  EngineError,
  type GenerationDelta,
  type GenerationParams,
  GenerationParamsError,
  type GenerationResult,
  type GenerationStream,
  type InferenceEngine,
} from '@x/engine';
import type { ChatMessage, ToolCallEvent } from '@x/model';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { CHAT_PAGE } from './chat-page.js';
import { ServerMetrics } from './metrics.js';
import {
  chatLogprobs,
  completionLogprobs,
  generationParams,
  HttpError,
  OPENAI_PARAM,
  openAiError,
  usage,
} from './openai.js';
import { chatCompletionRequest, completionRequest } from './schemas.js';
import { prepareConstraint, requestedConstraint } from './structured-output.js';
import {
  endEvents,
  genericMessages,
  requestedToolUse,
  type ServerToolFormat,
  ToolCallCollector,
  templateToolCalls,
  toChatTools,
  toolCallParser,
  toolDeltas,
} from './tools.js';

/** Where SSE events go: a Node socket, or Hono's stream elsewhere. */
interface SseSink {
  /** Sends one event: JSON of `data`, or `data` itself when it is a string (`[DONE]`). */
  send(data: unknown): Promise<void>;
  /** Whether the client is gone. */
  gone(): boolean;
  end(): Promise<void>;
}

/** Options of {@link createApp}. */
export interface AppOptions {
  engine: InferenceEngine;
  /** The model id clients name in `model` and `/v1/models` lists. Default the model file's base name. */
  modelId?: string;
  /** When set, `/v1/*` requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body, in bytes; larger ones get 413. Default 4 MiB. */
  maxBodyBytes?: number;
}

/** The HTTP application and the handles a server needs around it. */
export interface ServerApp {
  app: Hono;
  metrics: ServerMetrics;
  modelId: string;
  /** Generation requests being answered (streams included). */
  readonly inFlight: number;
  /** Resolves when no generation request is in flight. */
  idle(): Promise<void>;
  /** Refuses new generation requests with 503 from now on (graceful shutdown). */
  drain(): void;
  /** Aborts every generation request in flight. */
  abortAll(reason?: unknown): void;
}

/** The base name of a path, without `.gguf`. */
function baseName(path: string): string {
  const name =
    path
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? path;
  return name.replace(/\.gguf$/i, '');
}

/**
 * The OpenAI-compatible application over an engine: routes, validation, auth, limits, metrics and
 * the chat page, with no socket of its own (mount it anywhere, or call `app.request()`).
 */
export function createApp(options: AppOptions): ServerApp {
  const { engine } = options;
  const modelId = options.modelId ?? baseName(engine.info.model);
  const metrics = new ServerMetrics(engine);
  const created = Math.floor(Date.now() / 1000);
  let draining = false;
  let inFlight = 0;
  const controllers = new Set<AbortController>();
  let idleWaiters: Array<() => void> = [];
  const settle = () => {
    inFlight--;
    if (inFlight === 0) {
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
    }
  };

  const app = new Hono();

  app.get('/', (c) => c.html(CHAT_PAGE));
  app.get('/health', (c) =>
    c.json({
      status: draining ? 'draining' : 'ok',
      model: modelId,
      executor: engine.info.executor,
    }),
  );
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, {
      'Content-Type': metrics.registry.contentType,
    }),
  );

  app.use('/v1/*', async (c, next) => {
    await next();
    metrics.requests.inc({ endpoint: c.req.path, status: String(c.res.status) });
  });
  app.use('/v1/*', async (c, next) => {
    if (
      options.apiKey !== undefined &&
      !authorized(c.req.header('authorization'), options.apiKey)
    ) {
      throw new HttpError(
        401,
        'Incorrect or missing API key: send "Authorization: Bearer <key>"',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    await next();
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 4 * 2 ** 20,
      onError: (c) =>
        c.json(
          openAiError(
            `the request body is larger than ${options.maxBodyBytes ?? 4 * 2 ** 20} bytes`,
            'invalid_request_error',
            'request_too_large',
          ),
          413,
        ),
    }),
  );

  app.get('/v1/models', (c) =>
    c.json({
      object: 'list',
      data: [
        {
          id: modelId,
          object: 'model',
          created,
          owned_by: 'xinfer',
          max_model_len: engine.config.maxModelLen,
        },
      ],
    }),
  );

  /** The request's constraint, compiled (a bad one is a 400 naming its field), or undefined. */
  async function askedConstraint(
    body: Parameters<typeof requestedConstraint>[0],
  ): Promise<Constraint | undefined> {
    const asked = requestedConstraint(body);
    if (!asked) return undefined;
    await prepareConstraint(engine, asked);
    return asked.constraint;
  }

  /** Starts one stream per choice, or none: a rejection aborts the choices already started. */
  function startChoices(
    c: Context,
    prompts: number[][],
    params: Array<Partial<GenerationParams>>,
  ): { streams: GenerationStream[]; controller: AbortController } {
    if (draining) {
      throw new HttpError(
        503,
        'the server is shutting down',
        'server_error',
        'shutting_down',
        null,
        {
          'Retry-After': '5',
        },
      );
    }
    const controller = new AbortController();
    controllers.add(controller);
    controller.signal.addEventListener('abort', () => controllers.delete(controller), {
      once: true,
    });
    const clientGone = c.req.raw.signal;
    const streams: GenerationStream[] = [];
    try {
      // The choices of one prompt (`n` > 1) compute it once: the engine forks its K/V blocks.
      for (let i = 0; i < prompts.length; ) {
        let j = i + 1;
        while (j < prompts.length && prompts[j] === prompts[i]) j++;
        const group = engine.generateMany(prompts[i]!, params.slice(i, j), {
          signal: controller.signal,
        });
        streams.push(...group);
        i = j;
      }
    } catch (error) {
      controller.abort();
      throw error;
    }
    // Nothing to keep once every choice has finished.
    Promise.allSettled(streams.map((s) => s.result)).then(() => controllers.delete(controller));
    clientGone.addEventListener('abort', () => controller.abort(clientGone.reason), { once: true });
    return { streams, controller };
  }

  /** Reads a choice to the end, observing TTFT and inter-token latency. */
  async function consume(
    stream: GenerationStream,
    startedAt: number,
    onDelta: (delta: GenerationDelta) => Promise<void> | void,
  ): Promise<GenerationResult> {
    let last = 0;
    for await (const delta of stream) {
      const now = performance.now();
      if (delta.tokenIds.length > 0) {
        if (last === 0) metrics.ttft.observe((now - startedAt) / 1000);
        else metrics.interToken.observe((now - last) / 1000);
        last = now;
      }
      await onDelta(delta);
    }
    const result = await stream.result;
    metrics.generationTokens.inc(result.usage.completionTokens);
    return result;
  }

  interface Choices {
    kind: 'chat' | 'text';
    prompts: number[][];
    params: Array<Partial<GenerationParams>>;
    stream: boolean;
    includeUsage: boolean;
    /** Legacy completions' `echo`: the prompt text before each choice's text. */
    echo: string[] | undefined;
    /** Chat with tools: the format the model writes calls in, parsed into `tool_calls`. */
    toolFormat: ServerToolFormat | undefined;
  }

  async function answer(c: Context, req: Choices): Promise<Response> {
    const startedAt = performance.now();
    const { streams, controller } = startChoices(c, req.prompts, req.params);
    inFlight++;
    // Counted until the response has left: on Node, when the socket's response closes, so a
    // graceful shutdown never cuts a response that is written but not yet flushed.
    let counted = true;
    const finished = () => {
      if (counted) {
        counted = false;
        settle();
      }
    };
    const outgoing = (c.env as { outgoing?: { once(event: 'close', f: () => void): void } })
      ?.outgoing;
    outgoing?.once('close', finished);
    const done = outgoing ? () => {} : finished;
    const id = `${req.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${streams[0]?.id ?? 0}`;
    const object = req.kind === 'chat' ? 'chat.completion' : 'text_completion';
    const base = () => ({ id, object, created: Math.floor(Date.now() / 1000), model: modelId });
    const promptTokens = [...new Set(req.prompts)].reduce((n, p) => n + p.length, 0);
    const { tokenizer } = engine.model;

    if (!req.stream) {
      try {
        const results = await Promise.all(streams.map((s) => consume(s, startedAt, () => {})));
        metrics.promptTokens.inc(promptTokens);
        const completionTokens = results.reduce((n, r) => n + r.usage.completionTokens, 0);
        return c.json({
          ...base(),
          choices: results.map((r, index) =>
            req.kind === 'chat'
              ? {
                  index,
                  ...chatMessage(r, req.toolFormat),
                  logprobs: r.logprobs ? chatLogprobs(tokenizer, r.tokenIds, r.logprobs) : null,
                }
              : {
                  index,
                  text: (req.echo?.[index] ?? '') + r.text,
                  logprobs: r.logprobs
                    ? completionLogprobs(
                        tokenizer,
                        r.tokenIds,
                        r.logprobs,
                        req.echo?.[index]?.length ?? 0,
                      )
                    : null,
                  finish_reason: r.finishReason,
                },
          ),
          usage: usage(promptTokens, completionTokens),
        });
      } catch (error) {
        controller.abort();
        throw error;
      } finally {
        done();
      }
    }

    /** Writes every choice's chunks, then usage and `[DONE]`; errors become a last error event. */
    const pump = async (sink: SseSink) => {
      const chunkUsage = req.includeUsage ? { usage: null } : {};
      const chunk = (choice: Record<string, unknown>) =>
        sink.send({
          ...base(),
          object: req.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
          choices: [choice],
          ...chunkUsage,
        });
      try {
        const results = await Promise.all(
          streams.map(async (stream, index) => {
            if (req.kind === 'chat') {
              await chunk({
                index,
                delta: { role: 'assistant', content: '' },
                logprobs: null,
                finish_reason: null,
              });
            } else if (req.echo) {
              await chunk({ index, text: req.echo[index], logprobs: null, finish_reason: null });
            }
            let offset = req.echo?.[index]?.length ?? 0;
            // With tools, text goes through the family's parser: calls become tool_calls deltas.
            const parser = req.toolFormat ? toolCallParser(req.toolFormat) : undefined;
            let calls = 0;
            const sendTools = async (events: ToolCallEvent[], logprobs: unknown) => {
              const deltas = toolDeltas(events);
              calls += events.filter((e) => e.type === 'tool_call_start').length;
              if (deltas.length === 0 && logprobs) deltas.push({ content: '' });
              for (const [k, d] of deltas.entries()) {
                await chunk({
                  index,
                  delta: d,
                  logprobs: k === 0 ? logprobs : null,
                  finish_reason: null,
                });
              }
            };
            const result = await consume(stream, startedAt, async (delta) => {
              const logprobs = delta.logprobs
                ? req.kind === 'chat'
                  ? chatLogprobs(tokenizer, delta.tokenIds, delta.logprobs)
                  : completionLogprobs(tokenizer, delta.tokenIds, delta.logprobs, offset)
                : null;
              offset += delta.text.length;
              if (parser) {
                await sendTools(parser.push(delta.text), logprobs);
                return;
              }
              if (delta.text === '' && !logprobs) return;
              await chunk(
                req.kind === 'chat'
                  ? { index, delta: { content: delta.text }, logprobs, finish_reason: null }
                  : { index, text: delta.text, logprobs, finish_reason: null },
              );
            });
            if (parser) await sendTools(endEvents(parser), null);
            const finishReason =
              calls > 0 && result.finishReason === 'stop' ? 'tool_calls' : result.finishReason;
            await chunk(
              req.kind === 'chat'
                ? { index, delta: {}, logprobs: null, finish_reason: finishReason }
                : { index, text: '', logprobs: null, finish_reason: result.finishReason },
            );
            return result;
          }),
        );
        metrics.promptTokens.inc(promptTokens);
        if (req.includeUsage) {
          const completionTokens = results.reduce((n, r) => n + r.usage.completionTokens, 0);
          await sink.send({ ...base(), choices: [], usage: usage(promptTokens, completionTokens) });
        }
        await sink.send('[DONE]');
      } catch (error) {
        controller.abort();
        if (!sink.gone()) await sink.send(toHttpError(error).body).catch(() => {});
      } finally {
        await sink.end();
        done();
      }
    };

    // On Node, SSE goes straight to the socket: one write per chunk, no web-stream hops.
    const nodeResponse = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (nodeResponse) {
      nodeResponse.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
      });
      nodeResponse.flushHeaders();
      const gone = () => nodeResponse.destroyed || nodeResponse.writableEnded;
      nodeResponse.once('close', () => {
        if (!nodeResponse.writableFinished) controller.abort(new Error('the client disconnected'));
      });
      void pump({
        send: async (data) => {
          if (!gone())
            nodeResponse.write(
              `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
            );
        },
        gone,
        end: async () => {
          if (!gone()) nodeResponse.end();
        },
      });
      return RESPONSE_ALREADY_SENT;
    }

    return streamSSE(
      c,
      async (sse: SSEStreamingApi) => {
        sse.onAbort(() => controller.abort(new Error('the client disconnected')));
        // One writer at a time: choices stream concurrently into one response.
        let writing = Promise.resolve();
        await pump({
          send: (data) => {
            const text = typeof data === 'string' ? data : JSON.stringify(data);
            writing = writing.then(() => sse.writeSSE({ data: text }));
            return writing;
          },
          gone: () => sse.aborted || sse.closed,
          end: () => writing.catch(() => {}),
        });
      },
      async () => {},
    );
  }

  app.post('/v1/chat/completions', async (c) => {
    const body = await parseBody(c, chatCompletionRequest);
    checkModel(body.model, modelId);
    const messages: ChatMessage[] = body.messages.map((m, i) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content:
        typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text).join(''),
      ...(m.name != null ? { name: m.name } : {}),
      ...(m.tool_calls?.length ? { tool_calls: templateToolCalls(m.tool_calls, i) } : {}),
      ...(m.tool_call_id != null ? { tool_call_id: m.tool_call_id } : {}),
    }));
    const toolUse = requestedToolUse(
      body.tools,
      body.tool_choice,
      body.parallel_tool_calls,
      engine.chatTemplateSource,
    );
    let ids: number[];
    try {
      const tools = body.tools?.length ? toChatTools(body.tools) : undefined;
      // A template without tool calls gets the tools and the reply format in the messages.
      ids = engine.encodeChatPrompt(
        toolUse?.format === 'generic'
          ? engine.renderChat(
              genericMessages(messages, toolUse.tools, body.parallel_tool_calls ?? true),
            )
          : engine.renderChat(messages, { tools }),
      );
    } catch (error) {
      throw toHttpError(error, 'messages');
    }
    const n = body.n ?? 1;
    const logprobs = body.logprobs ? (body.top_logprobs ?? 0) : undefined;
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    let constraint = await askedConstraint(body);
    if (toolUse) {
      if (constraint) {
        throw new HttpError(
          400,
          'tools: structured output and tool calls in one request are not supported together',
          'invalid_request_error',
          null,
          'tools',
        );
      }
      await prepareConstraint(engine, { constraint: toolUse.constraint, field: 'tools' });
      constraint = toolUse.constraint;
    }
    const params = Array.from({ length: n }, (_, i) => ({
      ...generationParams(
        body,
        maxTokens,
        ids.length,
        engine.config.maxModelLen,
        undefined,
        logprobs,
        i,
      ),
      constraint,
    }));
    return answer(c, {
      kind: 'chat',
      prompts: params.map(() => ids),
      params,
      stream: body.stream ?? false,
      includeUsage: body.stream_options?.include_usage ?? false,
      echo: undefined,
      toolFormat: toolUse?.format,
    });
  });

  app.post('/v1/completions', async (c) => {
    const body = await parseBody(c, completionRequest);
    checkModel(body.model, modelId);
    const { tokenizer } = engine.model;
    const p = body.prompt;
    const prompts: Array<{ ids: number[]; text: string }> =
      typeof p === 'string'
        ? [{ ids: tokenizer.encode(p), text: p }]
        : typeof p[0] === 'string'
          ? (p as string[]).map((text) => ({ ids: tokenizer.encode(text), text }))
          : typeof p[0] === 'number'
            ? [{ ids: p as number[], text: tokenizer.decode(p as number[]) }]
            : (p as number[][]).map((ids) => ({ ids, text: tokenizer.decode(ids) }));
    const n = body.n ?? 1;
    const logprobs = body.logprobs ?? undefined;
    const choices = prompts.flatMap((prompt) => Array.from({ length: n }, () => prompt));
    const constraint = await askedConstraint(body);
    const params = choices.map((prompt, i) => ({
      // The legacy endpoint's default is 16 tokens.
      ...generationParams(
        body,
        body.max_tokens,
        prompt.ids.length,
        engine.config.maxModelLen,
        16,
        logprobs,
        i,
      ),
      constraint,
    }));
    return answer(c, {
      kind: 'text',
      prompts: choices.map((x) => x.ids),
      params,
      stream: body.stream ?? false,
      includeUsage: body.stream_options?.include_usage ?? false,
      echo: body.echo ? choices.map((x) => x.text) : undefined,
      toolFormat: undefined,
    });
  });

  app.notFound((c) =>
    c.json(openAiError(`no route for ${c.req.method} ${c.req.path}`, 'not_found_error'), 404),
  );
  app.onError((error, c) => {
    const http = toHttpError(error);
    return c.json(http.body, http.status, http.headers);
  });

  return {
    app,
    metrics,
    modelId,
    get inFlight() {
      return inFlight;
    },
    idle: () =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    drain: () => {
      draining = true;
    },
    abortAll: (reason) => {
      for (const controller of [...controllers]) controller.abort(reason);
    },
  };
}

/**
 * A chat choice's `message` and `finish_reason`: with tools, the reply parsed into `content` and
 * `tool_calls` (finish reason `tool_calls` when it ends with calls).
 */
function chatMessage(r: GenerationResult, format: ServerToolFormat | undefined) {
  if (!format) {
    return { message: { role: 'assistant', content: r.text }, finish_reason: r.finishReason };
  }
  const parser = toolCallParser(format);
  const collected = new ToolCallCollector();
  collected.add(parser.push(r.text));
  collected.add(endEvents(parser));
  const called = collected.calls.length > 0;
  return {
    message: {
      role: 'assistant',
      content: called && collected.content.trim() === '' ? null : collected.content,
      ...(called ? { tool_calls: collected.calls } : {}),
    },
    finish_reason: called && r.finishReason === 'stop' ? 'tool_calls' : r.finishReason,
  };
}

function authorized(header: string | undefined, key: string): boolean {
  const expected = Buffer.from(`Bearer ${key}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function checkModel(model: string, modelId: string): void {
  if (model !== modelId) {
    throw new HttpError(
      400,
      `The model \`${model}\` does not exist; this server serves \`${modelId}\``,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  }
}

async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch (error) {
    throw new HttpError(400, `the request body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || null;
    throw new HttpError(
      400,
      `${path ?? 'body'}: ${issue?.message ?? 'invalid'}`,
      'invalid_request_error',
      null,
      path,
    );
  }
  return parsed.data;
}

/** The status and OpenAI-shaped body for any error a request can meet. */
function toHttpError(error: unknown, param: string | null = null): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof GenerationParamsError) {
    const name = OPENAI_PARAM[error.field];
    return new HttpError(
      400,
      error.message.replace(error.field, name),
      'invalid_request_error',
      null,
      name,
    );
  }
  if (error instanceof EngineError) {
    switch (error.code) {
      case 'ENGINE_REQUEST_REJECTED':
      case 'ENGINE_CHAT_TEMPLATE':
        return new HttpError(400, error.message, 'invalid_request_error', null, param);
      case 'ENGINE_QUEUE_FULL':
        return new HttpError(429, error.message, 'rate_limit_error', 'queue_full', null, {
          'Retry-After': '1',
        });
      case 'ENGINE_CLOSED':
        return new HttpError(503, error.message, 'server_error', 'shutting_down', null, {
          'Retry-After': '5',
        });
      default:
        return new HttpError(500, error.message, 'server_error', error.code);
    }
  }
  return new HttpError(
    500,
    `internal error: ${(error as Error)?.message ?? String(error)}`,
    'server_error',
  );
}
