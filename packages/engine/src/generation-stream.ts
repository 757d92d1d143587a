import type { TokenLogprobs } from '@x/model';
import { EngineError } from './errors.js';

/** Text and tokens a request produced since the previous delta. */
export interface GenerationDelta {
  /** New text: never part of a UTF-8 character, never text a stop string could begin in. */
  text: string;
  /** Tokens sampled (stop tokens left out). */
  tokenIds: number[];
  /** Log-probabilities of each of `tokenIds`, when the request asked for `logprobs`. */
  logprobs?: TokenLogprobs[];
}

/** Why a request finished: a stop token or string, or `maxTokens` / `maxModelLen`. */
export type FinishReason = 'stop' | 'length';

/** Token counts of a finished request, as the OpenAI API reports them. */
export interface Usage {
  promptTokens: number;
  /** Tokens sampled, the final stop token included. */
  completionTokens: number;
  totalTokens: number;
}

/** Times of a finished request, in milliseconds. */
export interface GenerationTimings {
  /** From submission to the first token. */
  ttftMs: number;
  /** From submission to the last token. */
  totalMs: number;
  /** Tokens after the first per second of time after the first. */
  decodeTokPerSec: number;
}

/** The final record of a request. */
export interface GenerationResult {
  id: number;
  /** All text generated, up to (not including) a stop string. */
  text: string;
  /** The ids fed to the model (BOS included where the vocabulary adds it). */
  promptTokenIds: number[];
  /** The ids generated, stop tokens left out. */
  tokenIds: number[];
  finishReason: FinishReason;
  /** The stop string or stop token id that ended the request, when one did. */
  stop?: string | number;
  usage: Usage;
  timings: GenerationTimings;
  /** Per generated token, when the request asked for `logprobs`. */
  logprobs?: TokenLogprobs[];
}

type Settled = { ok: true; result: GenerationResult } | { ok: false; error: unknown };

/**
 * One request's output as it is generated: an async iterable of {@link GenerationDelta}s, read
 * once, plus `result`, the final record. Leaving the loop early (`break`) aborts the request and
 * frees its KV blocks. When the request fails or is aborted, iteration throws and `result`
 * rejects with the same error.
 */
export class GenerationStream implements AsyncIterable<GenerationDelta> {
  /** Resolves with the final record when the request finishes. */
  readonly result: Promise<GenerationResult>;
  private readonly queue: GenerationDelta[] = [];
  private settled: Settled | undefined;
  private wake: (() => void) | undefined;
  private iterating = false;
  private settle!: (outcome: Settled) => void;

  /** @internal created by the engine */
  constructor(
    readonly id: number,
    private readonly onAbort: (reason: unknown) => void,
  ) {
    this.result = new Promise<GenerationResult>((resolve, reject) => {
      this.settle = (outcome) => {
        if (this.settled) return;
        this.settled = outcome;
        if (outcome.ok) resolve(outcome.result);
        else reject(outcome.error);
        this.wake?.();
      };
    });
    // A caller may only iterate, or only await `result`: neither leaves an unhandled rejection.
    this.result.catch(() => {});
  }

  /** Aborts the request: its blocks are freed at once, iteration and `result` reject with `reason`. */
  abort(reason?: unknown): void {
    this.onAbort(reason);
  }

  /** All the text, when the request finishes. */
  async text(): Promise<string> {
    return (await this.result).text;
  }

  /** @internal */
  push(delta: GenerationDelta): void {
    if (this.settled) return;
    this.queue.push(delta);
    this.wake?.();
  }

  /** @internal */
  finish(result: GenerationResult): void {
    this.settle({ ok: true, result });
  }

  /** @internal */
  fail(error: unknown): void {
    this.settle({ ok: false, error });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GenerationDelta, void, undefined> {
    if (this.iterating) {
      throw new EngineError(
        `request ${this.id}: a generation stream is read once`,
        'ENGINE_STREAM_CONSUMED',
        { requestId: this.id },
      );
    }
    this.iterating = true;
    let completed = false;
    try {
      for (;;) {
        const delta = this.queue.shift();
        if (delta) {
          yield delta;
          continue;
        }
        if (this.settled) {
          if (!this.settled.ok) throw this.settled.error;
          completed = true;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      // The consumer left early: nobody wants the rest.
      if (!completed && !this.settled) this.abort();
    }
  }
}
