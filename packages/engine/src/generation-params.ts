import { MAX_LOGIT_BIAS } from '@x/model';
import { type Constraint, constraintProblem } from './constraint.js';

/**
 * How one request samples and when it stops. The first three fields and their defaults are the
 * source's (`max_tokens` 100, `temperature` 1.0 in 0–2, `top_p` 0.9 in 0–1); the rest are what
 * vLLM and the OpenAI API offer.
 */
export interface GenerationParams {
  /** Most tokens to generate, at least 1. Default 100. */
  maxTokens: number;
  /** Sampling temperature in [0, 2]; 0 is greedy. Default 1.0. */
  temperature: number;
  /** Nucleus sampling: smallest token set whose probability reaches `topP`, in (0, 1]. Default 0.9. */
  topP: number;
  /** Keep only the `topK` most likely tokens; 0 disables. Default 0. */
  topK: number;
  /** Drop tokens whose probability is below `minP` × the top token's, in [0, 1]. Default 0. */
  minP: number;
  /** OpenAI presence penalty in [-2, 2]. Default 0. */
  presencePenalty: number;
  /** OpenAI frequency penalty in [-2, 2]. Default 0. */
  frequencyPenalty: number;
  /** Multiplicative repetition penalty (llama.cpp, vLLM), > 0; 1 disables. Default 1. */
  repetitionPenalty: number;
  /**
   * Added to the logits of these token ids before the penalties (OpenAI's `logit_bias`): values
   * in [-100, 100], at most 300 ids, each in the model's vocabulary. Default none.
   */
  logitBias: ReadonlyMap<number, number> | undefined;
  /** Seed for reproducible sampling, a safe integer; undefined draws one. */
  seed: number | undefined;
  /** Strings that end generation; the stop string is not part of the output. Default none. */
  stop: readonly string[];
  /** Token ids that end generation, besides the model's end-of-sequence. Default none. */
  stopTokenIds: readonly number[];
  /**
   * Report each sampled token's log-probability and this many most likely alternatives (0–20);
   * undefined reports none. Default undefined.
   */
  logprobs: number | undefined;
  /**
   * What the output must match (a JSON Schema, JSON, a GBNF grammar, a regex, one of some
   * strings, a structural tag): each token is sampled from those the grammar allows next, and
   * the end-of-generation token only where the text is complete. Default none.
   */
  constraint: Constraint | undefined;
}

/** The defaults (source: max tokens 100, temperature 1.0, top-p 0.9). */
export const DEFAULT_GENERATION_PARAMS: Readonly<GenerationParams> = Object.freeze({
  maxTokens: 100,
  temperature: 1.0,
  topP: 0.9,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: undefined,
  seed: undefined,
  stop: [],
  stopTokenIds: [],
  logprobs: undefined,
  constraint: undefined,
});

/** A generation parameter out of range; `field` names it. */
export class GenerationParamsError extends Error {
  override readonly name = 'GenerationParamsError';
  readonly code = 'INVALID_GENERATION_PARAMS';
  readonly field: keyof GenerationParams;

  constructor(field: keyof GenerationParams, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

type NumericField = {
  [K in keyof GenerationParams]: GenerationParams[K] extends number ? K : never;
}[keyof GenerationParams];

/** [min, max, minExclusive, integer] of every numeric field. */
const RANGES: Record<NumericField, readonly [number, number, boolean, boolean]> = {
  maxTokens: [1, Number.MAX_SAFE_INTEGER, false, true],
  temperature: [0, 2, false, false],
  topP: [0, 1, true, false],
  topK: [0, Number.MAX_SAFE_INTEGER, false, true],
  minP: [0, 1, false, false],
  presencePenalty: [-2, 2, false, false],
  frequencyPenalty: [-2, 2, false, false],
  repetitionPenalty: [0, Number.POSITIVE_INFINITY, true, false],
};

/**
 * Fills defaults into partial parameters and checks every field.
 * @throws GenerationParamsError naming the first field that is out of range or of the wrong type
 */
export function resolveGenerationParams(partial: Partial<GenerationParams> = {}): GenerationParams {
  const params: GenerationParams = { ...DEFAULT_GENERATION_PARAMS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (params as unknown as Record<string, unknown>)[key] = value;
  }
  for (const [field, [min, max, minExclusive, integer]] of Object.entries(RANGES)) {
    const value = params[field as NumericField];
    const below = minExclusive ? value <= min : value < min;
    if (typeof value !== 'number' || Number.isNaN(value) || below || value > max) {
      const range = `${minExclusive ? '(' : '['}${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`;
      throw new GenerationParamsError(
        field as NumericField,
        `must be in ${range}, got ${String(value)}`,
      );
    }
    if (integer && !Number.isInteger(value)) {
      throw new GenerationParamsError(field as NumericField, `must be an integer, got ${value}`);
    }
  }
  const { logprobs } = params;
  if (logprobs !== undefined && !(Number.isInteger(logprobs) && logprobs >= 0 && logprobs <= 20)) {
    throw new GenerationParamsError(
      'logprobs',
      `must be an integer in [0, 20] or undefined, got ${String(logprobs)}`,
    );
  }
  const bias = params.logitBias;
  if (bias !== undefined) {
    if (!(bias instanceof Map)) {
      throw new GenerationParamsError('logitBias', 'must be a Map of token id to bias');
    }
    if (bias.size > MAX_LOGIT_BIAS) {
      throw new GenerationParamsError(
        'logitBias',
        `must hold at most ${MAX_LOGIT_BIAS} token ids, got ${bias.size}`,
      );
    }
    for (const [id, value] of bias) {
      if (!(Number.isInteger(id) && id >= 0)) {
        throw new GenerationParamsError('logitBias', `keys must be token ids, got ${String(id)}`);
      }
      if (typeof value !== 'number' || !(value >= -100 && value <= 100)) {
        throw new GenerationParamsError(
          'logitBias',
          `the bias of token ${id} must be in [-100, 100], got ${String(value)}`,
        );
      }
    }
  }
  if (params.seed !== undefined && !Number.isSafeInteger(params.seed)) {
    throw new GenerationParamsError('seed', `must be a safe integer, got ${String(params.seed)}`);
  }
  if (!Array.isArray(params.stop) || params.stop.some((s) => typeof s !== 'string' || s === '')) {
    throw new GenerationParamsError('stop', 'must be an array of non-empty strings');
  }
  if (
    !Array.isArray(params.stopTokenIds) ||
    params.stopTokenIds.some((id) => !Number.isInteger(id) || id < 0)
  ) {
    throw new GenerationParamsError('stopTokenIds', 'must be an array of non-negative integers');
  }
  if (params.constraint !== undefined) {
    const problem = constraintProblem(params.constraint);
    if (problem) throw new GenerationParamsError('constraint', problem);
  }
  return params;
}
