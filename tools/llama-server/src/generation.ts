// One request's generation on one sequence: the prompt, then tokens until EOS or max_tokens.
import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';

/** How to sample, in OpenAI's terms. */
export interface SamplingParams {
  /** Tokens to generate at most, an EOS token included. */
  maxTokens: number;
  /** 0 is greedy (llama.cpp's argmax), bit for bit reproducible. */
  temperature: number;
  /** Nucleus sampling; 1 (all tokens) unless given. Only with `temperature` > 0. */
  topP?: number;
  /** Top-k; 0 (all tokens) unless given. Only with `temperature` > 0. */
  topK?: number;
  /** Sampling seed. Only with `temperature` > 0. */
  seed?: number;
}

/** Why a generation ended, in OpenAI's terms. */
export type FinishReason = 'stop' | 'length';

/** How a generation ended. */
export interface GenerationResult {
  /** Every generated token, a final EOS token included. */
  tokens: Token[];
  /** The generated text, special tokens left out. */
  text: string;
  finishReason: FinishReason;
}

/** Tokens before the new ones that the detokenizer sees, so a leading space comes out as in running text. */
const DETOKENIZE_CONTEXT = 8;

/**
 * Evaluates `prompt` on `sequence` (which must be empty) and generates up to `maxTokens` tokens,
 * yielding text as it becomes whole: a token that ends inside a UTF-8 character (a byte-fallback
 * `<0xE6>`) is held until the character completes. EOS counts as a generated token, as it does in
 * xinfer's engine, and adds no text. Throws `signal.reason` once `signal` aborts, at the latest
 * one token later; nothing is evaluated after that.
 */
export async function* generate(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  prompt: readonly Token[],
  params: SamplingParams,
  signal?: AbortSignal,
): AsyncGenerator<string, GenerationResult, void> {
  signal?.throwIfAborted();
  const tokens: Token[] = [];
  let text = '';
  // The generated text continues the prompt: " unto" after "And the LORD said" keeps its space.
  let before: Token[] = prompt.slice(-DETOKENIZE_CONTEXT);
  let pending: Token[] = [];
  let finishReason: FinishReason = 'length';
  const greedy = params.temperature === 0;
  const evaluation = sequence.evaluate([...prompt], {
    temperature: params.temperature,
    ...(greedy
      ? {}
      : { topP: params.topP ?? 1, topK: params.topK ?? 0, seed: params.seed ?? Date.now() }),
    yieldEogToken: true,
  });
  for await (const token of evaluation) {
    signal?.throwIfAborted();
    tokens.push(token);
    if (model.isEogToken(token)) {
      finishReason = 'stop';
      break;
    }
    pending.push(token);
    const piece = model.detokenize(pending, false, before);
    // U+FFFD at the end: the token stops inside a character; a few more complete it.
    if (!piece.endsWith('\uFFFD') || pending.length >= 4) {
      before = [...before, ...pending].slice(-DETOKENIZE_CONTEXT);
      pending = [];
      text += piece;
      if (piece !== '') yield piece;
    }
    if (tokens.length >= params.maxTokens) break;
  }
  if (pending.length > 0) {
    const piece = model.detokenize(pending, false, before);
    text += piece;
    if (piece !== '') yield piece;
  }
  return { tokens, text, finishReason };
}
