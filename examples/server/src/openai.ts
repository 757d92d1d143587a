// Translation between the OpenAI API's JSON and the engine: parameters in, records and chunks out.
import type { FinishReason, GenerationParams } from '@x/engine';
import type { Tokenizer, TokenLogprobs } from '@x/model';

/** An error body in the OpenAI API's shape. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The OpenAI-shaped error body for `message`. */
export function openAiError(
  message: string,
  type = 'invalid_request_error',
  code: string | null = null,
  param: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/** An error the server answers with `status` and an OpenAI-shaped body. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 413 | 429 | 500 | 503,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): OpenAiErrorBody {
    return openAiError(this.message, this.type, this.code, this.param);
  }
}

/** The engine's parameter names, as the OpenAI API spells them. */
export const OPENAI_PARAM: Record<keyof GenerationParams, string> = {
  maxTokens: 'max_tokens',
  temperature: 'temperature',
  topP: 'top_p',
  topK: 'top_k',
  minP: 'min_p',
  presencePenalty: 'presence_penalty',
  frequencyPenalty: 'frequency_penalty',
  repetitionPenalty: 'repetition_penalty',
  logitBias: 'logit_bias',
  seed: 'seed',
  stop: 'stop',
  stopTokenIds: 'stop_token_ids',
  logprobs: 'logprobs',
  constraint: 'response_format',
};

/** Fields both endpoints share. */
export interface SamplingFields {
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  logit_bias?: Record<string, number> | null;
}

/**
 * Engine parameters for one choice. The OpenAI API's defaults apply where the engine's differ
 * (temperature 1, top-p 1); `maxTokens` defaults to what the context leaves, as vLLM does for
 * chat, or to `defaultMaxTokens`.
 * @throws HttpError 400 when the prompt and `max_tokens` do not fit in `maxModelLen`
 */
export function generationParams(
  body: SamplingFields,
  maxTokensAsked: number | null | undefined,
  promptTokens: number,
  maxModelLen: number,
  defaultMaxTokens: number | undefined,
  logprobs: number | undefined,
  choice: number,
): Partial<GenerationParams> {
  const room = maxModelLen - promptTokens;
  if (room < 1 || (maxTokensAsked != null && maxTokensAsked > room)) {
    const asked = maxTokensAsked ?? 1;
    throw new HttpError(
      400,
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ` +
        `${promptTokens + asked} tokens (${promptTokens} in the prompt, ${asked} in the completion). ` +
        'Please reduce the length of the prompt or completion.',
      'invalid_request_error',
      'context_length_exceeded',
      maxTokensAsked != null ? 'max_tokens' : 'messages',
    );
  }
  return {
    maxTokens: maxTokensAsked ?? Math.min(defaultMaxTokens ?? room, room),
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: body.top_k ?? 0,
    minP: body.min_p ?? 0,
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    repetitionPenalty: body.repetition_penalty ?? 1,
    logitBias:
      body.logit_bias == null
        ? undefined
        : new Map(Object.entries(body.logit_bias).map(([id, bias]) => [Number(id), bias])),
    // Choices of one request differ from each other, and a seed still reproduces all of them.
    seed: body.seed != null ? body.seed + choice : undefined,
    stop: body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop,
    logprobs,
  };
}

/** OpenAI's finish reasons are the engine's. */
export type OpenAiFinishReason = FinishReason;

/** Usage in the OpenAI API's spelling. */
export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): OpenAiUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

const encoder = new TextEncoder();

/** The text of one token, as logprobs report it. */
function tokenString(tokenizer: Tokenizer, id: number): string {
  return tokenizer.decode([id]);
}

/** Chat logprobs: `{ content: [{ token, logprob, bytes, top_logprobs }] }`. */
export function chatLogprobs(tokenizer: Tokenizer, tokenIds: number[], logprobs: TokenLogprobs[]) {
  const entry = (id: number, logprob: number) => {
    const token = tokenString(tokenizer, id);
    return { token, logprob, bytes: [...encoder.encode(token)] };
  };
  return {
    content: logprobs.map((lp, i) => ({
      ...entry(tokenIds[i] as number, lp.logprob),
      top_logprobs: lp.top.map((t) => entry(t.tokenId, t.logprob)),
    })),
  };
}

/** Legacy completion logprobs: `{ tokens, token_logprobs, top_logprobs, text_offset }`. */
export function completionLogprobs(
  tokenizer: Tokenizer,
  tokenIds: number[],
  logprobs: TokenLogprobs[],
  textOffset: number,
) {
  const tokens = tokenIds.map((id) => tokenString(tokenizer, id));
  const offsets: number[] = [];
  let at = textOffset;
  for (const token of tokens) {
    offsets.push(at);
    at += token.length;
  }
  return {
    tokens,
    token_logprobs: logprobs.map((lp) => lp.logprob),
    top_logprobs: logprobs.map((lp) =>
      Object.fromEntries(lp.top.map((t) => [tokenString(tokenizer, t.tokenId), t.logprob])),
    ),
    text_offset: offsets,
  };
}
