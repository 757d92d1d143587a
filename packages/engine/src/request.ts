// A request while the engine holds it, and how a scheduler step becomes an executor batch.
import type {
  DecodeStream,
  ForwardBatch,
  ForwardResult,
  ForwardSequence,
  SamplingParams,
  Tokenizer,
  TokenLogprobs,
} from '@x/model';
import type { SchedulerOutput } from '@x/scheduler';
import type { RequestState } from './engine-options.js';
import { EngineError } from './errors.js';
import type { GenerationParams } from './generation-params.js';
import type { GenerationStream } from './generation-stream.js';
import type { ConstraintMatcher } from './grammar/constraint-compiler.js';
import { StopStringFilter } from './stop-strings.js';

/** A request the engine holds: its prompt, parameters, output so far and timings. */
export interface ActiveRequest {
  id: number;
  inputText: string;
  promptTokenIds: number[];
  params: GenerationParams;
  sampling: SamplingParams;
  /** Every sampled token, stop tokens included: what the scheduler holds after the prompt. */
  sampled: number[];
  /** Sampled tokens without stop tokens. */
  tokenIds: number[];
  logprobs: TokenLogprobs[] | undefined;
  text: string;
  decoder: DecodeStream;
  stops: StopStringFilter;
  state: RequestState;
  numComputed: number;
  createdAt: number;
  firstTokenAt: number;
  lastTokenAt: number;
  /** Present for `generate`/`chat`; absent for `submitRequest`. */
  stream: GenerationStream | undefined;
  detach: (() => void) | undefined;
  /** The request's grammar matcher when it has a constraint: being made, then made. */
  grammar: RequestGrammar | undefined;
}

/** A constrained request's matcher: `ready` settles once; `matcher` is set when it resolves. */
export interface RequestGrammar {
  ready: Promise<ConstraintMatcher>;
  matcher: ConstraintMatcher | undefined;
}

/** A request as admitted: nothing sampled yet, its detokenizer and stop filter ready. */
export function newActiveRequest(
  id: number,
  inputText: string,
  promptTokenIds: number[],
  params: GenerationParams,
  tokenizer: Tokenizer,
): ActiveRequest {
  return {
    id,
    inputText,
    promptTokenIds,
    params,
    sampling: {
      temperature: params.temperature,
      topP: params.topP,
      topK: params.topK,
      minP: params.minP,
      presencePenalty: params.presencePenalty,
      frequencyPenalty: params.frequencyPenalty,
      repetitionPenalty: params.repetitionPenalty,
      logitBias: params.logitBias,
      seed: params.seed,
      logprobs: params.logprobs,
    },
    sampled: [],
    tokenIds: [],
    logprobs: params.logprobs !== undefined ? [] : undefined,
    text: '',
    // Generated text continues the prompt: a SentencePiece "▁of" after it keeps its space.
    decoder: tokenizer.createDecodeStream({
      skipSpecialTokens: true,
      continuation: promptTokenIds.some((t) => !tokenizer.isSpecial(t)),
    }),
    stops: new StopStringFilter(params.stop),
    state: 'pending',
    numComputed: 0,
    createdAt: performance.now(),
    firstTokenAt: 0,
    lastTokenAt: 0,
    stream: undefined,
    detach: undefined,
    grammar: undefined,
  };
}

/** The executor batch for a scheduler step: positions, per-sequence slices, block moves. */
export function toForwardBatch(
  plan: SchedulerOutput,
  active: ReadonlyMap<number, ActiveRequest>,
): ForwardBatch {
  const positions = new Int32Array(plan.numBatchedTokens);
  const sequences = plan.scheduled.map((s): ForwardSequence => {
    for (let j = 0; j < s.numTokens; j++) positions[s.offset + j] = s.start + j;
    const req = active.get(s.seqId) as ActiveRequest;
    if (req.state === 'pending') req.state = 'prefill';
    return {
      seqId: s.seqId,
      start: s.start,
      numTokens: s.numTokens,
      offset: s.offset,
      blockTable: s.blockTable,
      sample: s.sample,
      sampling: req.sampling,
      promptTokenIds: req.promptTokenIds,
      outputTokenIds: req.sampled,
    };
  });
  return {
    tokenIds: plan.tokenIds,
    positions,
    slotMapping: plan.slotMapping,
    sequences,
    copies: plan.copies,
    swapIn: plan.swapIn,
    swapOut: plan.swapOut,
  };
}

/** An executor's result must have one in-vocabulary token per sequence that asked for one. */
export function checkResult(batch: ForwardBatch, result: ForwardResult, vocabSize: number): void {
  const wanted = batch.sequences.reduce((n, s) => n + (s.sample ? 1 : 0), 0);
  if (result.tokens.length !== wanted) {
    throw new EngineError(
      `the executor returned ${result.tokens.length} tokens for ${wanted} sequences`,
      'ENGINE_EXECUTOR_FAILED',
    );
  }
  for (const token of result.tokens) {
    if (!(token >= 0 && token < vocabSize)) {
      throw new EngineError(
        `the executor returned token ${token}, outside the vocabulary`,
        'ENGINE_EXECUTOR_FAILED',
      );
    }
  }
}
