// The HTTP side: OpenAI's routes over a model, its context's sequences and a chat prompter.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LlamaModel, Token } from 'node-llama-cpp';
import type { z } from 'zod';
import type { BatchStats } from './batching.js';
import { HttpError, toHttpError } from './errors.js';
import { type GenerationResult, generate, type SamplingParams } from './generation.js';
import { type ChatMessage, type ChatPrompter, textPromptTokens } from './prompt.js';
import { chatCompletionRequest, completionRequest } from './schemas.js';
import type { SequencePool } from './sequence-pool.js';

/** What the routes answer from. */
export interface AppState {
  modelId: string;
  model: LlamaModel;
  pool: SequencePool;
  prompter: ChatPrompter;
  /** Tokens one sequence holds: prompt and completion together. */
  contextSize: number;
  threads: number;
  batchStats: BatchStats;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
}

/** One generation request, parsed. */
interface Job {
  kind: 'chat' | 'text';
  prompt: Token[];
  params: SamplingParams;
  stream: boolean;
  includeUsage: boolean;
}

/** The request handler, and what shutting down needs from it. */
export interface App {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Aborts every generation request in flight and resolves once their sequences are back. */
  abortAll(reason: unknown): Promise<void>;
}

/** The OpenAI-compatible request handler over `state`. */
export function createApp(state: AppState): App {
  const created = Math.floor(Date.now() / 1000);
  const inFlight = new Map<AbortController, Promise<void>>();
  let nextId = 1;

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  function route(req: IncomingMessage): string {
    // `/v1/models` and `/models` alike, as llama.cpp's own server takes both.
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/^\/v1(?=\/)/, '');
    return `${req.method} ${path}`;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (route(req)) {
      case 'GET /health':
        return sendJson(res, 200, {
          status: 'ok',
          model: state.modelId,
          sequences: state.pool.size,
          free_sequences: state.pool.free,
          waiting: state.pool.waiting,
          context_size: state.contextSize,
          threads: state.threads,
          batching: {
            decode_calls: state.batchStats.batches,
            tokens: state.batchStats.tokens,
            sequences: state.batchStats.sequences,
            max_sequences: state.batchStats.maxSequences,
          },
        });
      case 'GET /models':
        return sendJson(res, 200, {
          object: 'list',
          data: [
            {
              id: state.modelId,
              object: 'model',
              created,
              owned_by: 'llama.cpp',
              max_model_len: state.contextSize,
            },
          ],
        });
      case 'POST /chat/completions': {
        const body = parse(chatCompletionRequest, await readBody(req, state.maxBodyBytes));
        const messages: ChatMessage[] = body.messages.map((m) => ({
          role: m.role === 'developer' ? 'system' : m.role,
          content:
            typeof m.content === 'string'
              ? m.content
              : (m.content ?? []).map((part) => part.text).join(''),
        }));
        const prompt = state.prompter.tokens(messages);
        const maxTokens = body.max_completion_tokens ?? body.max_tokens;
        return run(res, {
          kind: 'chat',
          prompt,
          params: sampling(body, prompt.length, maxTokens, 'messages'),
          stream: body.stream ?? false,
          includeUsage: body.stream_options?.include_usage ?? false,
        });
      }
      case 'POST /completions': {
        const body = parse(completionRequest, await readBody(req, state.maxBodyBytes));
        const prompt = textPromptTokens(state.model, body.prompt);
        return run(res, {
          kind: 'text',
          prompt,
          // The legacy endpoint's default is 16 tokens.
          params: sampling(body, prompt.length, body.max_tokens ?? 16, 'prompt'),
          stream: body.stream ?? false,
          includeUsage: body.stream_options?.include_usage ?? false,
        });
      }
      default:
        throw new HttpError(
          404,
          `no route for ${req.method} ${req.url}`,
          null,
          null,
          'not_found_error',
        );
    }
  }

  /** OpenAI's sampling fields, checked against the context a sequence has. */
  function sampling(
    body: z.infer<typeof completionRequest> | z.infer<typeof chatCompletionRequest>,
    promptTokens: number,
    maxTokens: number | null | undefined,
    promptParam: string,
  ): SamplingParams {
    const room = state.contextSize - promptTokens;
    if (promptTokens === 0) throw new HttpError(400, 'the prompt is empty', null, promptParam);
    if (room < 1 || (maxTokens != null && maxTokens > room)) {
      const asked = maxTokens ?? 1;
      throw new HttpError(
        400,
        `This model's maximum context length is ${state.contextSize} tokens. However, you ` +
          `requested ${promptTokens + asked} tokens (${promptTokens} in the prompt, ${asked} in ` +
          'the completion). Please reduce the length of the prompt or completion.',
        'context_length_exceeded',
        maxTokens != null ? 'max_tokens' : promptParam,
      );
    }
    const params: SamplingParams = {
      maxTokens: maxTokens ?? room,
      // OpenAI's default temperature is 1; 0 is greedy.
      temperature: body.temperature ?? 1,
    };
    if (body.top_p != null) params.topP = body.top_p;
    if (body.top_k != null) params.topK = body.top_k;
    if (body.seed != null) params.seed = body.seed;
    return params;
  }

  /** Generates on a free sequence (waiting for one) and answers, streaming or not. */
  async function run(res: ServerResponse, job: Job): Promise<void> {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the client disconnected'));
    });
    const id = `${job.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${nextId++}`;
    const object = job.kind === 'chat' ? 'chat.completion' : 'text_completion';
    const chunkObject = job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const base = () => ({ id, created: Math.floor(Date.now() / 1000), model: state.modelId });
    const usage = (result: GenerationResult) => ({
      prompt_tokens: job.prompt.length,
      completion_tokens: result.tokens.length,
      total_tokens: job.prompt.length + result.tokens.length,
    });
    const send = (data: unknown) => {
      if (!res.destroyed && !res.writableEnded) {
        res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
      }
    };
    // With `include_usage`, every chunk carries `usage: null` and a last one the counts.
    const chunk = (choice: Record<string, unknown>) =>
      send({
        ...base(),
        object: chunkObject,
        choices: [{ index: 0, ...choice, logprobs: null }],
        ...(job.includeUsage ? { usage: null } : {}),
      });
    const textChunk = (text: string | null, finishReason: string | null = null) =>
      chunk(
        job.kind === 'chat'
          ? { delta: text === null ? {} : { content: text }, finish_reason: finishReason }
          : { text: text ?? '', finish_reason: finishReason },
      );

    let settle = () => {};
    inFlight.set(controller, new Promise<void>((resolve) => (settle = resolve)));
    try {
      if (job.stream) {
        res.writeHead(200, {
          'Content-Type': 'text/event-stream',
          'Cache-Control': 'no-cache',
          Connection: 'keep-alive',
        });
        res.flushHeaders();
      }
      const sequence = await state.pool.acquire(controller.signal);
      try {
        const generation = generate(
          state.model,
          sequence,
          job.prompt,
          job.params,
          controller.signal,
        );
        if (job.stream && job.kind === 'chat') {
          chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null });
        }
        let step = await generation.next();
        while (!step.done) {
          if (job.stream) textChunk(step.value);
          step = await generation.next();
        }
        const result = step.value;
        if (job.stream) {
          textChunk(null, result.finishReason);
          if (job.includeUsage) {
            send({ ...base(), object: chunkObject, choices: [], usage: usage(result) });
          }
          send('[DONE]');
          res.end();
        } else {
          sendJson(res, 200, {
            ...base(),
            object,
            choices: [
              {
                index: 0,
                ...(job.kind === 'chat'
                  ? { message: { role: 'assistant', content: result.text } }
                  : { text: result.text }),
                logprobs: null,
                finish_reason: result.finishReason,
              },
            ],
            usage: usage(result),
          });
        }
      } finally {
        // After the answer has left: clearing waits for the batch in flight.
        await state.pool.release(sequence);
      }
    } catch (error) {
      if (controller.signal.aborted) {
        res.destroy();
      } else if (res.headersSent) {
        send(toHttpError(error).body);
        res.end();
      } else {
        throw error;
      }
    } finally {
      inFlight.delete(controller);
      settle();
    }
  }

  return {
    handle(req, res) {
      serve(req, res).catch((error: unknown) => {
        const http = toHttpError(error);
        if (res.headersSent) res.destroy();
        else sendJson(res, http.status, http.body);
      });
    },
    async abortAll(reason) {
      const running = [...inFlight];
      for (const [controller] of running) controller.abort(reason);
      await Promise.all(running.map(([, done]) => done));
    },
  };
}

/** The request body, at most `maxBytes` of it. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      throw new HttpError(
        413,
        `the request body is larger than ${maxBytes} bytes`,
        'request_too_large',
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The body as `schema` reads it. @throws HttpError 400 for malformed JSON or a schema mismatch */
function parse<S extends z.ZodType>(schema: S, text: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the request body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || null;
    throw new HttpError(400, `${path ?? 'body'}: ${issue?.message ?? 'invalid'}`, null, path);
  }
  return parsed.data;
}
