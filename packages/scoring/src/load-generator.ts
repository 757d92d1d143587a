import { createParser } from 'eventsource-parser';
import type { RequestTiming } from './request-timing.js';

/** One chat message of a prompt. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One prompt of a load test: the messages of a chat completion. */
export interface LoadPrompt {
  messages: ChatMessage[];
}

/** Progress of a running load test. */
export interface LoadTestProgress {
  /** Requests finished, failed ones included. */
  done: number;
  failed: number;
  /** Requests the run will make, when it is bounded by count. */
  total: number | undefined;
  completionTokens: number;
  elapsedMs: number;
}

/** Options of {@link runLoadTest}. */
export interface LoadTestOptions {
  /** Base URL of an OpenAI-compatible API, e.g. `http://127.0.0.1:8000/v1`. */
  url: string;
  model: string;
  /** Requests in flight at once. */
  concurrency: number;
  /** Make exactly this many requests (give this or `durationMs`). */
  requests?: number | undefined;
  /** Start requests until this much time has passed (give this or `requests`). */
  durationMs?: number | undefined;
  /** Prompts, used in turn. */
  prompts: readonly LoadPrompt[];
  /** `max_tokens` of every request. */
  maxTokens: number;
  /** A request that has not finished after this long is aborted and counted as a timeout. Default 60 s. */
  timeoutMs?: number | undefined;
  /** Hard cap on requests, also for duration-bounded runs. Default 100 000. */
  maxRequests?: number | undefined;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string | undefined;
  /** Measure one request's time to first token before the timed run (`cold_start_ms`). */
  measureColdStart?: boolean | undefined;
  /**
   * Share of requests, in [0, 1), whose client disconnects mid-stream on purpose (after a few
   * content chunks), to check that a server frees what they held. Spread evenly over the run;
   * counted in `disconnected`, not in `timings`. Default 0.
   */
  disconnectFraction?: number | undefined;
  /** Stops starting requests and aborts those in flight. */
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: LoadTestProgress) => void) | undefined;
}

/** What a load test observed. */
export interface LoadTestOutcome {
  /** One record per request, in the order they were started. */
  timings: RequestTiming[];
  startedAt: Date;
  elapsedSecs: number;
  /** TTFT of the request sent before the timed run, when `measureColdStart` was set and it succeeded. */
  coldStartMs: number | undefined;
  /** Requests that disconnected on purpose (`disconnectFraction`); left out of `timings`. */
  disconnected: number;
}

/** Options that cannot describe a bounded run; `option` names the offending one. */
export class LoadTestOptionsError extends Error {
  override readonly name = 'LoadTestOptionsError';
  readonly code = 'LOAD_TEST_INVALID_OPTIONS';
  readonly option: string;

  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.option = option;
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_REQUESTS = 100_000;

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function validate(options: LoadTestOptions): void {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new LoadTestOptionsError('url', `not a URL: ${options.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LoadTestOptionsError('url', `must be http or https, got ${url.protocol}`);
  }
  if (!options.model) throw new LoadTestOptionsError('model', 'is required');
  if (!isPositiveInteger(options.concurrency)) {
    throw new LoadTestOptionsError(
      'concurrency',
      `must be a positive integer, got ${options.concurrency}`,
    );
  }
  const hasRequests = options.requests !== undefined;
  const hasDuration = options.durationMs !== undefined;
  if (hasRequests === hasDuration) {
    throw new LoadTestOptionsError('requests', 'give exactly one of requests and durationMs');
  }
  if (hasRequests && !isPositiveInteger(options.requests)) {
    throw new LoadTestOptionsError(
      'requests',
      `must be a positive integer, got ${options.requests}`,
    );
  }
  const f = options.disconnectFraction;
  if (f !== undefined && !(f >= 0 && f < 1)) {
    throw new LoadTestOptionsError('disconnectFraction', `must be in [0, 1), got ${f}`);
  }
  if (hasDuration && !(Number.isFinite(options.durationMs) && options.durationMs! > 0)) {
    throw new LoadTestOptionsError('durationMs', `must be positive, got ${options.durationMs}`);
  }
  if (options.prompts.length === 0) throw new LoadTestOptionsError('prompts', 'no prompts given');
  if (!isPositiveInteger(options.maxTokens)) {
    throw new LoadTestOptionsError(
      'maxTokens',
      `must be a positive integer, got ${options.maxTokens}`,
    );
  }
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeout) && timeout > 0)) {
    throw new LoadTestOptionsError('timeoutMs', `must be positive, got ${timeout}`);
  }
}

class RequestTimeout extends Error {}
class Disconnect extends Error {}

/** Streams one chat completion and records when each content chunk arrived. */
async function streamOne(
  options: LoadTestOptions,
  prompt: LoadPrompt,
  runStart: number,
  disconnectAfter?: number,
): Promise<RequestTiming | 'disconnected'> {
  const sent = performance.now();
  const timing: RequestTiming = {
    startMs: sent - runStart,
    chunkTimesMs: [],
    latencyMs: 0,
    promptTokens: 0,
    completionTokens: 0,
    status: 'ok',
  };
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = setTimeout(() => controller.abort(new RequestTimeout()), timeoutMs);
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
  let done = false;
  let disconnecting = false;
  try {
    const response = await fetch(`${options.url.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: options.model,
        messages: prompt.messages,
        max_tokens: options.maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) {
      const text = (await response.text().catch(() => '')).slice(0, 200);
      throw new Error(`HTTP ${response.status}${text ? `: ${text}` : ''}`);
    }
    let streamError: string | undefined;
    const parser = createParser({
      onEvent(event) {
        if (event.data === '[DONE]') {
          done = true;
          return;
        }
        let chunk: {
          choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
          usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
          error?: { message?: string };
        };
        try {
          chunk = JSON.parse(event.data);
        } catch {
          streamError ??= `unparseable SSE data: ${event.data.slice(0, 80)}`;
          return;
        }
        if (chunk.error) streamError ??= `server error: ${chunk.error.message ?? 'unknown'}`;
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) timing.chunkTimesMs.push(performance.now() - sent);
        if (choice?.finish_reason) timing.finishReason = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      },
    });
    const decoder = new TextDecoder();
    for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      if (disconnectAfter !== undefined && timing.chunkTimesMs.length >= disconnectAfter) {
        disconnecting = true;
        break; // cancels the body: the connection closes mid-stream
      }
    }
    if (disconnecting) {
      controller.abort(new Disconnect());
      return 'disconnected';
    }
    if (streamError) throw new Error(streamError);
    if (!done) throw new Error('stream ended before data: [DONE]');
  } catch (error) {
    const reason = controller.signal.reason;
    if (controller.signal.aborted && reason instanceof RequestTimeout) {
      timing.status = 'timeout';
      timing.error = `no complete response within ${timeoutMs} ms`;
    } else {
      timing.status = 'error';
      const err = error as Error & { cause?: { message?: string } };
      timing.error = err.cause?.message ? `${err.message}: ${err.cause.message}` : err.message;
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  timing.latencyMs = performance.now() - sent;
  timing.promptTokens = usage?.prompt_tokens ?? 0;
  timing.completionTokens = usage?.completion_tokens ?? timing.chunkTimesMs.length;
  return timing;
}

/**
 * Runs a load test against an OpenAI-compatible server: `concurrency` workers stream
 * `/chat/completions` (SSE, `stream_options.include_usage`, greedy) until `requests` were made or
 * `durationMs` passed, recording when every content chunk arrives. The run is bounded: each request
 * by `timeoutMs`, the whole run by `maxRequests` and by the signal. Requests go only to `url`.
 * Failed requests (HTTP errors, dropped streams, timeouts) are recorded, not thrown.
 * @throws LoadTestOptionsError for options that do not describe a bounded run
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestOutcome> {
  validate(options);
  const maxRequests = options.maxRequests ?? DEFAULT_MAX_REQUESTS;
  const total =
    options.requests === undefined ? undefined : Math.min(options.requests, maxRequests);

  let coldStartMs: number | undefined;
  if (options.measureColdStart) {
    const first = await streamOne(options, options.prompts[0]!, performance.now());
    if (first !== 'disconnected' && first.status === 'ok') coldStartMs = first.chunkTimesMs[0];
  }

  const startedAt = new Date();
  const runStart = performance.now();
  const timings: RequestTiming[] = [];
  let next = 0;
  let failed = 0;
  let finished = 0;
  let completionTokens = 0;
  let disconnected = 0;
  const fraction = options.disconnectFraction ?? 0;
  // Request i disconnects when ⌊(i + 1)·f⌋ > ⌊i·f⌋: exactly ⌊n·f⌋ of the first n, evenly spread.
  const disconnects = (i: number) => Math.floor((i + 1) * fraction) > Math.floor(i * fraction);
  const mayStart = () =>
    !options.signal?.aborted &&
    next < maxRequests &&
    (total !== undefined ? next < total : performance.now() - runStart < options.durationMs!);

  const worker = async () => {
    while (mayStart()) {
      const index = next++;
      const prompt = options.prompts[index % options.prompts.length]!;
      const cut = disconnects(index)
        ? 1 + (index % Math.max(1, Math.floor(options.maxTokens / 2)))
        : undefined;
      const timing = await streamOne(options, prompt, runStart, cut);
      finished++;
      if (timing === 'disconnected') {
        disconnected++;
        continue;
      }
      timings[index] = timing;
      if (timing.status !== 'ok') failed++;
      completionTokens += timing.completionTokens;
      options.onProgress?.({
        done: finished,
        failed,
        total,
        completionTokens,
        elapsedMs: performance.now() - runStart,
      });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    timings: timings.filter((t) => t !== undefined),
    startedAt,
    elapsedSecs: (performance.now() - runStart) / 1000,
    coldStartMs,
    disconnected,
  };
}

/**
 * Parses a prompts file: JSON Lines, each `{"prompt": "..."}` or `{"messages": [...]}`; blank
 * lines are skipped.
 * @throws LoadTestOptionsError naming the line of a bad entry
 */
export function parsePromptsJsonl(text: string, file = '<prompts>'): LoadPrompt[] {
  const prompts: LoadPrompt[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let entry: { prompt?: unknown; messages?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      throw new LoadTestOptionsError('prompts', `${file}:${i + 1}: not JSON`);
    }
    if (typeof entry.prompt === 'string') {
      prompts.push({ messages: [{ role: 'user', content: entry.prompt }] });
    } else if (
      Array.isArray(entry.messages) &&
      entry.messages.every(
        (m: { role?: unknown; content?: unknown }) =>
          typeof m?.role === 'string' && typeof m?.content === 'string',
      )
    ) {
      prompts.push({ messages: entry.messages as ChatMessage[] });
    } else {
      throw new LoadTestOptionsError(
        'prompts',
        `${file}:${i + 1}: expected {"prompt": string} or {"messages": [{role, content}]}`,
      );
    }
  });
  if (prompts.length === 0) throw new LoadTestOptionsError('prompts', `${file}: no prompts`);
  return prompts;
}

/** The prompts used when none are given: short, varied, public-domain-safe requests. */
export const DEFAULT_PROMPTS: readonly LoadPrompt[] = [
  'Write a short paragraph about the sea.',
  'Explain in two sentences why the sky is blue.',
  'List five fruits and one fact about each.',
  'Tell a very short story about a lighthouse keeper.',
  'Describe how a bicycle works.',
  'What is the capital of France, and what is it known for?',
  'Give three tips for writing clear code.',
  'Summarize the water cycle.',
].map((content) => ({ messages: [{ role: 'user', content }] }));
