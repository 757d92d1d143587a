// Output processing: a sampled token through the detokenizer and the stop strings, and the records
// a finished request leaves (its stream's result, or a `CompletedRequest`).
import type { TokenLogprobs } from '@x/model';
import type { CompletedRequest } from './engine-options.js';
import type { FinishReason, GenerationDelta, GenerationResult } from './generation-stream.js';
import type { ActiveRequest } from './request.js';

/** What one sampled token adds to a request's output. */
export interface TokenOutput {
  /** New text (stop strings held back or cut) and token ids, for the stream. */
  delta: GenerationDelta;
  /** Set when the request ends with this token: the scheduler's reason, or `stop` for a stop string. */
  finishReason: FinishReason | undefined;
  /** The stop string or stop token that ended it. */
  stop: string | number | undefined;
}

/**
 * Appends a sampled token to `req`: a stop token (the scheduler's `finishReason: 'stop'`) is
 * counted but not shown; text goes through the detokenizer (flushed at the end) and the stop
 * string filter, which may end the request early.
 */
export function appendToken(
  req: ActiveRequest,
  token: number,
  logprobs: TokenLogprobs | undefined,
  finishReason: FinishReason | undefined,
): TokenOutput {
  req.sampled.push(token);
  const stopToken = finishReason === 'stop';
  const delta: GenerationDelta = { text: '', tokenIds: [] };
  let decoded = '';
  if (!stopToken) {
    decoded = req.decoder.push(token);
    req.tokenIds.push(token);
    delta.tokenIds.push(token);
    if (req.logprobs && logprobs) {
      req.logprobs.push(logprobs);
      delta.logprobs = [logprobs];
    }
  }
  if (finishReason) decoded += req.decoder.flush();
  const filtered = req.stops.push(decoded);
  delta.text = filtered.text;
  let stop: string | number | undefined = stopToken ? token : undefined;
  if (filtered.stop !== undefined) {
    stop = filtered.stop;
    finishReason = 'stop';
  } else if (finishReason) {
    delta.text += req.stops.flush();
  }
  req.text += delta.text;
  return { delta, finishReason, stop };
}

/** The result a finished request's stream ends with. */
export function generationResult(
  req: ActiveRequest,
  finishReason: FinishReason,
  stop: string | number | undefined,
  t: number,
): GenerationResult {
  const decodeMs = t - req.firstTokenAt;
  const result: GenerationResult = {
    id: req.id,
    text: req.text,
    promptTokenIds: req.promptTokenIds,
    tokenIds: req.tokenIds,
    finishReason,
    usage: {
      promptTokens: req.promptTokenIds.length,
      completionTokens: req.sampled.length,
      totalTokens: req.promptTokenIds.length + req.sampled.length,
    },
    timings: {
      ttftMs: req.firstTokenAt - req.createdAt,
      totalMs: t - req.createdAt,
      decodeTokPerSec: decodeMs > 0 ? ((req.sampled.length - 1) * 1000) / decodeMs : 0,
    },
  };
  if (stop !== undefined) result.stop = stop;
  if (req.logprobs) result.logprobs = req.logprobs;
  return result;
}

/** The record a `submitRequest` request leaves for the next `step()`. */
export function completedRecord(
  req: ActiveRequest,
  durationMs: number,
  finishReason: CompletedRequest['finishReason'],
  error?: string,
): CompletedRequest {
  return {
    requestId: req.id,
    inputText: req.inputText,
    outputText: req.text,
    inputTokens: req.promptTokenIds.length,
    generatedTokens: req.sampled.length,
    durationMs,
    finishReason,
    ...(error !== undefined ? { error } : {}),
  };
}
