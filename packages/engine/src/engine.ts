// The InferenceEngine class: its public lifecycle (submit, step, generate, chat, abort, close,
// metrics) and the step loop, about 590 lines because they share one request table and one
// scheduler. Creation (create.ts), the request and its batch (request.ts) and output processing
// (output.ts) live apart.
import type {
  ChatMessage,
  ChatTemplate,
  ForwardResult,
  ModelExecutor,
  TokenLogprobs,
} from '@x/model';
import { Scheduler, type SchedulerOutput } from '@x/scheduler';
import type { Constraint } from './constraint.js';
import { createEngineParts, type EngineParts } from './create.js';
import type { EngineConfig } from './engine-config.js';
import type {
  ChatOptions,
  CompletedRequest,
  EngineInfo,
  EngineModel,
  EngineOptions,
  GenerateOptions,
  RequestInfo,
} from './engine-options.js';
import { EngineError } from './errors.js';
import {
  type GenerationParams,
  GenerationParamsError,
  resolveGenerationParams,
} from './generation-params.js';
import { type FinishReason, GenerationStream } from './generation-stream.js';
import type { ConstraintMatcher } from './grammar/constraint-compiler.js';
import { ConstraintCompiler } from './grammar/constraint-compiler.js';
import { type EngineMetrics, LatencyWindow } from './metrics.js';
import { appendToken, completedRecord, generationResult } from './output.js';
import { enginePlatform } from './platform.js';
import { type ActiveRequest, checkResult, newActiveRequest, toForwardBatch } from './request.js';

export { isSoftwareAdapter } from './create.js';
export {
  type ChatOptions,
  type ChatTool,
  type CompletedRequest,
  type EngineInfo,
  type EngineModel,
  type EngineOptions,
  type ExecutorFactory,
  type GenerateOptions,
  PLAIN_CHAT_TEMPLATE,
  type RequestInfo,
  type RequestState,
  type StepBudget,
} from './engine-options.js';

const now = () => performance.now();

/** Lets I/O run between steps without the 1 ms floor of `setTimeout(0)`. */
const yieldToEventLoop = () =>
  new Promise<void>((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );

/**
 * The source's `InferenceEngine`: takes requests, schedules them with continuous batching
 * (`@x/scheduler` over `@x/kvcache`), runs each step on a {@link ModelExecutor}, samples,
 * detokenizes, applies stop conditions and streams.
 *
 * Two ways to drive it. The source's: `submitRequest`, then `step()` or `run()`, which return
 * {@link CompletedRequest}s. A server's: `generate`/`chat`, which return a
 * {@link GenerationStream} and run the loop themselves while such requests exist (and idle, not
 * spin, when none do). Both share one scheduler, and steps never overlap.
 */
export class InferenceEngine {
  readonly config: EngineConfig;
  /** The model: its weights only while something reads them there ({@link EngineModel}). */
  readonly model: EngineModel;
  readonly executor: ModelExecutor;
  readonly info: EngineInfo;
  private readonly scheduler: Scheduler;
  private readonly ownsExecutor: boolean;
  private readonly maxWaiting: number;
  private readonly stopTokenIds: readonly number[];
  private readonly active = new Map<number, ActiveRequest>();
  private readonly completed: CompletedRequest[] = [];
  private nextId = 1;
  private streaming = 0;
  private loop: Promise<void> | undefined;
  private stepping: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly log: (line: string) => void;
  private readonly chatTemplate: ChatTemplate;
  private constraints: ConstraintCompiler | undefined;
  private readonly counters = {
    requestsProcessed: 0,
    tokensGenerated: 0,
    latencyMsTotal: 0,
    stepMsTotal: 0,
    promptTokens: 0,
    requestsAborted: 0,
    requestsFailed: 0,
    requestsRejected: 0,
    preemptions: 0,
    steps: 0,
  };
  private readonly ttft = new LatencyWindow();
  private readonly itl = new LatencyWindow();

  private constructor(parts: EngineParts) {
    const { config, model, executor, options } = parts;
    this.config = config;
    this.model = model;
    this.executor = executor;
    this.ownsExecutor = parts.ownsExecutor;
    this.info = parts.info;
    this.chatTemplate = parts.chatTemplate;
    this.log = parts.log;
    this.maxWaiting = options.maxWaitingRequests ?? Number.POSITIVE_INFINITY;
    this.stopTokenIds = model.tokenizer.stopTokenIds;
    this.scheduler = new Scheduler({
      numBlocks: executor.kvCache.numBlocks,
      blockSize: executor.kvCache.blockSize,
      numHostBlocks: executor.kvCache.numHostBlocks,
      enablePrefixCaching: options.enablePrefixCaching ?? true,
      preemptionMode: options.preemptionMode ?? 'recompute',
      maxBatchSize: config.maxBatchSize,
      maxNumSeqs: config.maxNumSeqs,
      maxModelLen: config.maxModelLen,
      maxTotalTokens: config.maxTotalTokens,
      memoryThreshold: config.memoryThreshold,
      policy: config.policy,
    });
  }

  /**
   * Loads the model (when given a path), sizes the KV cache, makes the executor and says which in
   * a log line and in {@link InferenceEngine.info}.
   * @throws EngineConfigError naming the field out of range, or when the KV memory cannot hold one
   *   sequence of `maxModelLen` tokens
   * @throws ModelFileError when the model file is bad
   */
  static async create(options: EngineOptions): Promise<InferenceEngine> {
    return new InferenceEngine(await createEngineParts(options));
  }

  /**
   * The source's `submit_request`: tokenizes `text` (BOS as the vocabulary asks) and queues it.
   * Its result comes back from {@link step} or {@link run}.
   * @throws GenerationParamsError naming a parameter out of range
   * @throws EngineError `ENGINE_REQUEST_REJECTED` (with the reason), `ENGINE_QUEUE_FULL`, `ENGINE_CLOSED`
   */
  submitRequest(text: string, params: Partial<GenerationParams> = {}): number {
    const resolved = resolveGenerationParams(params);
    return this.admit(text, this.model.tokenizer.encode(text), [resolved])[0]!.id;
  }

  /**
   * Runs one step: schedules, executes, samples and applies stop conditions. Returns the
   * {@link submitRequest} requests that finished since the previous call.
   */
  async step(): Promise<CompletedRequest[]> {
    await this.serialStep();
    return this.completed.splice(0);
  }

  /** Steps until no request is waiting or running; returns the {@link submitRequest} requests that finished. */
  async run(): Promise<CompletedRequest[]> {
    const done: CompletedRequest[] = [];
    while (this.hasPendingWork()) done.push(...(await this.step()));
    done.push(...this.completed.splice(0));
    return done;
  }

  /** Whether any request is waiting, running or swapped out. */
  hasPendingWork(): boolean {
    return this.scheduler.hasPendingWork();
  }

  /**
   * Generates from a text prompt (tokenized with BOS as the vocabulary asks) or from token ids.
   * Validation happens here, before anything is queued.
   * @throws GenerationParamsError, EngineError `ENGINE_REQUEST_REJECTED` (a prompt longer than
   *   `maxModelLen` allows, an empty prompt, a token id outside the vocabulary), `ENGINE_QUEUE_FULL`,
   *   `ENGINE_CLOSED`, or the signal's reason when it is already aborted
   */
  generate(
    prompt: string | readonly number[],
    params: Partial<GenerationParams> = {},
    options: GenerateOptions = {},
  ): GenerationStream {
    const resolved = resolveGenerationParams(params);
    options.signal?.throwIfAborted();
    const ids = typeof prompt === 'string' ? this.model.tokenizer.encode(prompt) : [...prompt];
    return this.startStream(typeof prompt === 'string' ? prompt : '', ids, resolved, options);
  }

  /**
   * One generation of `prompt` for each of `params` (OpenAI's `n`, parallel sampling: choices
   * usually differ by seed only). Choices that share `maxTokens` and stop tokens compute the
   * prompt once: each forks its K/V blocks, copy-on-write, for the last prompt token on (as vLLM
   * samples `n`). Each stream aborts on its own; the signal aborts them all.
   * @throws what {@link generate} throws, before any choice is queued
   */
  generateMany(
    prompt: string | readonly number[],
    params: ReadonlyArray<Partial<GenerationParams>>,
    options: GenerateOptions = {},
  ): GenerationStream[] {
    const resolved = params.map((p) => resolveGenerationParams(p));
    options.signal?.throwIfAborted();
    if (resolved.length === 0) return [];
    const ids = typeof prompt === 'string' ? this.model.tokenizer.encode(prompt) : [...prompt];
    return this.startStreams(typeof prompt === 'string' ? prompt : '', ids, resolved, options);
  }

  /**
   * Generates the assistant's reply to `messages`, rendered with the chat template
   * ({@link EngineInfo.chatTemplate} says which).
   * @throws EngineError `ENGINE_CHAT_TEMPLATE` when the template fails on the messages, and
   *   everything {@link generate} throws
   */
  chat(
    messages: readonly ChatMessage[],
    params: Partial<GenerationParams> = {},
    options: ChatOptions = {},
  ): GenerationStream {
    const resolved = resolveGenerationParams(params);
    options.signal?.throwIfAborted();
    const prompt = this.renderChat(messages, options);
    const ids = this.encodeChatPrompt(prompt);
    return this.startStream(prompt, ids, resolved, options);
  }

  /** The Jinja source of the chat template in use (the model's, the option's or the plain one). */
  get chatTemplateSource(): string {
    return this.chatTemplate.source;
  }

  /**
   * Token ids of a rendered chat prompt: special-token text parsed, and BOS added only when the
   * vocabulary asks for it and the template did not write it already (`{{ bos_token }}`).
   */
  encodeChatPrompt(prompt: string): number[] {
    const { tokenizer } = this.model;
    const bos = tokenizer.bosToken;
    return tokenizer.encode(prompt, {
      addSpecialTokens: !(bos !== undefined && bos !== '' && prompt.startsWith(bos)),
    });
  }

  /**
   * The chat template applied to `messages` (and `tools`, the template's `tools` variable), with
   * the assistant's turn opened.
   */
  renderChat(messages: readonly ChatMessage[], { tools }: Pick<ChatOptions, 'tools'> = {}): string {
    const { tokenizer } = this.model;
    try {
      return this.chatTemplate.render(messages, {
        bosToken: tokenizer.bosToken,
        eosToken: tokenizer.eosToken,
        ...(tools && tools.length > 0 ? { variables: { tools } } : {}),
      });
    } catch (cause) {
      throw new EngineError((cause as Error).message, 'ENGINE_CHAT_TEMPLATE', { cause });
    }
  }

  /**
   * Compiles a constraint into the engine's grammar cache, so that a request with it starts at
   * once and a bad grammar is an error before anything is queued (a server answers 400). Requests
   * compile their constraint themselves when it is not cached.
   * @throws GenerationParamsError on `constraint`, with xgrammar's reason when it does not compile
   * @throws EngineError `ENGINE_CLOSED`
   */
  async prepareConstraint(constraint: Constraint): Promise<void> {
    if (this.closed) throw new EngineError('the engine is closed', 'ENGINE_CLOSED');
    await this.constraintCompiler().compile(constraint);
  }

  /**
   * Aborts a request in any state: its KV blocks are freed at once and its stream throws
   * `reason` (default an `EngineError` `ENGINE_ABORTED`). False when it is unknown or finished.
   */
  abort(id: number, reason?: unknown): boolean {
    const req = this.active.get(id);
    if (!req) return false;
    this.scheduler.abort(id);
    this.counters.requestsAborted++;
    this.retire(req);
    req.stream?.fail(
      reason ?? new EngineError(`request ${id} was aborted`, 'ENGINE_ABORTED', { requestId: id }),
    );
    return true;
  }

  /** A snapshot of a request that has not finished, or undefined. */
  request(id: number): RequestInfo | undefined {
    const req = this.active.get(id);
    if (!req) return undefined;
    return {
      id,
      inputTokens: req.promptTokenIds,
      outputTokens: [...req.sampled],
      maxTokens: req.params.maxTokens,
      temperature: req.params.temperature,
      topP: req.params.topP,
      state: req.state,
      numComputedTokens: req.numComputed,
      createdAt: req.createdAt,
    };
  }

  /** Counters since creation and the state now; see {@link EngineMetrics}. */
  get metrics(): EngineMetrics {
    const c = this.counters;
    const kv = this.scheduler.stats();
    return {
      requestsProcessed: c.requestsProcessed,
      tokensGenerated: c.tokensGenerated,
      avgLatencyMs: c.requestsProcessed > 0 ? c.latencyMsTotal / c.requestsProcessed : 0,
      throughputTokPerSec: c.stepMsTotal > 0 ? (c.tokensGenerated * 1000) / c.stepMsTotal : 0,
      ttftMs: this.ttft.percentiles(),
      interTokenLatencyMs: this.itl.percentiles(),
      promptTokens: c.promptTokens,
      requestsAborted: c.requestsAborted,
      requestsFailed: c.requestsFailed,
      requestsRejected: c.requestsRejected,
      numWaiting: this.scheduler.numWaiting,
      numRunning: this.scheduler.numRunning,
      numSwapped: this.scheduler.numSwapped,
      numBlocks: kv.numBlocks,
      numFreeBlocks: kv.numFreeBlocks,
      kvUsage: kv.kvUsage,
      prefixCacheHitRate:
        kv.prefixCacheQueriedTokens > 0 ? kv.prefixCacheHitTokens / kv.prefixCacheQueriedTokens : 0,
      preemptions: c.preemptions,
      steps: c.steps,
    };
  }

  /**
   * Stops taking requests, aborts those not finished (their streams throw `ENGINE_CLOSED`), waits
   * for the step in flight and releases the executor if the engine made it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.active.keys()]) {
      this.abort(id, new EngineError('the engine was closed', 'ENGINE_CLOSED', { requestId: id }));
    }
    await this.loop;
    await this.stepping;
    this.constraints?.dispose();
    if (this.ownsExecutor) await this.executor.dispose();
  }

  private startStream(
    inputText: string,
    ids: number[],
    params: GenerationParams,
    options: GenerateOptions,
  ): GenerationStream {
    return this.startStreams(inputText, ids, [params], options)[0]!;
  }

  /** Admits one prompt for each of `params` and opens their streams. */
  private startStreams(
    inputText: string,
    ids: number[],
    params: readonly GenerationParams[],
    { signal }: GenerateOptions,
  ): GenerationStream[] {
    const streams = this.admit(inputText, ids, params).map((req) => {
      const stream = new GenerationStream(req.id, (reason) => this.abort(req.id, reason));
      req.stream = stream;
      this.streaming++;
      if (signal) {
        const onAbort = () => this.abort(req.id, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        req.detach = () => signal.removeEventListener('abort', onAbort);
      }
      return stream;
    });
    this.wake();
    return streams;
  }

  /**
   * Checks and queues one prompt for each of `params`. Several that share `maxTokens` and stop
   * tokens go to the scheduler as one request with forks: the prompt is computed once and each
   * fork shares its K/V blocks, copy-on-write; otherwise each is a request of its own.
   */
  private admit(
    inputText: string,
    promptTokenIds: number[],
    params: readonly GenerationParams[],
  ): ActiveRequest[] {
    if (this.closed) throw new EngineError('the engine is closed', 'ENGINE_CLOSED');
    const vocabSize = this.model.config.vocabSize;
    const bad = promptTokenIds.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
    if (bad >= 0) {
      this.counters.requestsRejected++;
      throw new EngineError(
        `prompt token ${bad} is ${promptTokenIds[bad]}, outside the vocabulary (0..${vocabSize - 1})`,
        'ENGINE_REQUEST_REJECTED',
      );
    }
    for (const p of params) {
      for (const id of p.logitBias?.keys() ?? []) {
        if (id >= vocabSize) {
          this.counters.requestsRejected++;
          throw new GenerationParamsError(
            'logitBias',
            `token id ${id} is outside the vocabulary (0..${vocabSize - 1})`,
          );
        }
      }
    }
    // Throws (before anything is queued) where no grammar engine can be loaded.
    if (params.some((p) => p.constraint)) this.constraintCompiler();
    if (this.scheduler.numWaiting >= this.maxWaiting) {
      throw new EngineError(
        `${this.scheduler.numWaiting} requests are waiting, the most allowed (maxWaitingRequests)`,
        'ENGINE_QUEUE_FULL',
      );
    }
    const ids = params.map(() => this.nextId++);
    const stops = params.map((p) => [...this.stopTokenIds, ...p.stopTokenIds]);
    // One request with forks where the choices agree on what the scheduler enforces.
    const shared = params.every(
      (p, i) => p.maxTokens === params[0]!.maxTokens && stops[i]!.join() === stops[0]!.join(),
    );
    const heads = shared ? [0] : params.map((_, i) => i);
    const queued: number[] = [];
    for (const head of heads) {
      const rejection = this.scheduler.addRequest({
        id: ids[head]!,
        promptTokens: promptTokenIds,
        maxTokens: params[head]!.maxTokens,
        stopTokenIds: stops[head],
        forks: shared ? ids.slice(1) : [],
      });
      if (rejection) {
        for (const id of queued) this.scheduler.abort(id);
        this.counters.requestsRejected++;
        throw new EngineError(rejection.reason, 'ENGINE_REQUEST_REJECTED', {
          requestId: ids[head],
        });
      }
      queued.push(ids[head]!);
    }
    return params.map((p, i) => {
      this.counters.promptTokens += promptTokenIds.length;
      const req = newActiveRequest(ids[i]!, inputText, promptTokenIds, p, this.model.tokenizer);
      if (p.constraint) this.startGrammar(req, p.constraint);
      this.active.set(req.id, req);
      return req;
    });
  }

  /** The grammar compiler of this engine's vocabulary, made on first use. */
  private constraintCompiler(): ConstraintCompiler {
    if (!this.constraints) {
      const load = enginePlatform().loadXGrammar;
      if (!load) {
        throw new EngineError(
          'constrained generation needs xgrammar, and this entry point has no loader for it: ' +
            'in a browser, call setEnginePlatform({ loadXGrammar: () => ' +
            "xgrammarFromModule(import('@mlc-ai/web-xgrammar')) })",
          'ENGINE_REQUEST_REJECTED',
        );
      }
      this.constraints = new ConstraintCompiler(
        { tokenizer: this.model.tokenizer, vocabSize: this.model.config.vocabSize },
        load,
      );
    }
    return this.constraints;
  }

  /** Starts making a request's matcher; the step that first samples it waits for it. */
  private startGrammar(req: ActiveRequest, constraint: Constraint): void {
    const ready = this.constraintCompiler().matcher(constraint);
    const grammar = { ready, matcher: undefined as ConstraintMatcher | undefined };
    req.grammar = grammar;
    ready.then(
      (matcher) => {
        // Finished or aborted before its matcher was made: nobody will dispose it later.
        if (this.active.get(req.id) === req) grammar.matcher = matcher;
        else matcher.dispose();
      },
      () => {}, // the step that needs it fails the request with the reason
    );
  }

  /**
   * Sets each constrained sequence's token mask for the step (its `sampling.allowedTokens`) and
   * returns the requests whose grammar failed to compile, with the reason: they stay in this
   * batch, sampled without a mask, and fail when its result comes back.
   */
  private async applyGrammars(plan: SchedulerOutput): Promise<Map<number, unknown>> {
    const failures = new Map<number, unknown>();
    for (const s of plan.scheduled) {
      if (!s.sample) continue;
      const req = this.active.get(s.seqId);
      if (!req?.grammar) continue;
      try {
        const matcher = req.grammar.matcher ?? (await req.grammar.ready);
        req.sampling.allowedTokens = await matcher.nextMask();
      } catch (error) {
        req.sampling.allowedTokens = undefined;
        failures.set(req.id, error);
      }
    }
    return failures;
  }

  /**
   * Advances a constrained request's matcher past its sampled token. False (and the request
   * failed) when the grammar refuses the token: the executor sampled outside the mask.
   */
  private acceptGrammarToken(req: ActiveRequest, token: number): boolean {
    const matcher = req.grammar?.matcher;
    if (!matcher || matcher.accept(token)) return true;
    this.fail(
      req,
      new EngineError(
        `the executor sampled token ${token}, which the request's grammar does not allow`,
        'ENGINE_EXECUTOR_FAILED',
        { requestId: req.id },
      ),
    );
    return false;
  }

  /** Starts the self-running loop unless it runs already; it ends when no stream is left. */
  private wake(): void {
    if (this.loop || this.closed) return;
    this.loop = (async () => {
      try {
        while (this.streaming > 0 && this.scheduler.hasPendingWork() && !this.closed) {
          await this.serialStep();
          await yieldToEventLoop();
        }
      } finally {
        this.loop = undefined;
      }
    })();
  }

  /** One step at a time, whoever asks. */
  private serialStep(): Promise<void> {
    const step = this.stepping.then(() => this.runStep());
    this.stepping = step.catch(() => {});
    return step;
  }

  private async runStep(): Promise<void> {
    if (!this.scheduler.hasPendingWork()) return;
    const t0 = now();
    let plan: SchedulerOutput;
    try {
      plan = this.scheduler.schedule();
    } catch (error) {
      this.failAll(error);
      return;
    }
    this.counters.preemptions += plan.preempted.length;
    for (const id of plan.preempted) {
      const req = this.active.get(id);
      if (req) req.state = 'pending';
    }
    if (plan.scheduled.length === 0) {
      this.failAll(
        new EngineError(
          'the scheduler planned nothing while requests were pending',
          'ENGINE_INTERNAL',
        ),
      );
      return;
    }
    const grammarFailures = await this.applyGrammars(plan);
    const batch = toForwardBatch(plan, this.active);
    let result: ForwardResult;
    try {
      result = await this.executor.execute(batch);
      checkResult(batch, result, this.model.config.vocabSize);
    } catch (cause) {
      // The batch's requests cannot go on; the others can.
      for (const s of plan.scheduled) {
        const req = this.active.get(s.seqId);
        if (!req) continue;
        this.fail(
          req,
          new EngineError(
            `the executor failed: ${(cause as Error)?.message ?? String(cause)}`,
            'ENGINE_EXECUTOR_FAILED',
            { requestId: req.id, cause },
          ),
        );
      }
      this.log(`xinfer: the executor failed on a batch: ${(cause as Error)?.stack ?? cause}`);
      return;
    }
    const sampled = new Map<number, number>();
    const logprobs = new Map<number, TokenLogprobs | undefined>();
    let k = 0;
    for (const s of plan.scheduled) {
      if (!s.sample) continue;
      sampled.set(s.seqId, result.tokens[k] as number);
      logprobs.set(s.seqId, result.logprobs[k]);
      k++;
    }
    const finished = new Map(this.scheduler.update(plan, sampled).map((f) => [f.id, f]));
    const t = now();
    for (const s of plan.scheduled) {
      const req = this.active.get(s.seqId);
      if (!req) continue; // aborted while the batch ran
      req.numComputed = s.start + s.numTokens;
      if (!s.sample) {
        req.state = 'prefill';
        continue;
      }
      req.state = 'decode';
      if (grammarFailures.has(req.id)) {
        this.fail(req, grammarFailures.get(req.id));
        continue;
      }
      if (!this.acceptGrammarToken(req, sampled.get(s.seqId) as number)) continue;
      this.onToken(
        req,
        sampled.get(s.seqId) as number,
        logprobs.get(s.seqId),
        t,
        finished.get(s.seqId)?.finishReason,
      );
    }
    this.counters.steps++;
    this.counters.stepMsTotal += now() - t0;
  }

  /** Appends a sampled token: decodes it, applies stop strings, streams, finishes. */
  private onToken(
    req: ActiveRequest,
    token: number,
    logprobs: TokenLogprobs | undefined,
    t: number,
    finishReason: FinishReason | undefined,
  ): void {
    this.counters.tokensGenerated++;
    if (req.sampled.length === 0) {
      req.firstTokenAt = t;
      this.ttft.add(t - req.createdAt);
    } else {
      this.itl.add(t - req.lastTokenAt);
    }
    req.lastTokenAt = t;
    const out = appendToken(req, token, logprobs, finishReason);
    // A stop string ended it before the scheduler did: free its blocks now.
    if (out.finishReason && !finishReason) this.scheduler.abort(req.id);
    if (out.delta.text !== '' || out.delta.tokenIds.length > 0) req.stream?.push(out.delta);
    if (out.finishReason) this.finish(req, out.finishReason, out.stop, t);
  }

  private finish(
    req: ActiveRequest,
    finishReason: FinishReason,
    stop: string | number | undefined,
    t: number,
  ): void {
    this.retire(req);
    const totalMs = t - req.createdAt;
    this.counters.requestsProcessed++;
    this.counters.latencyMsTotal += totalMs;
    if (req.stream) req.stream.finish(generationResult(req, finishReason, stop, t));
    else this.completed.push(completedRecord(req, totalMs, finishReason));
  }

  /** Forgets a request that finished, failed or was aborted. */
  private retire(req: ActiveRequest): void {
    this.active.delete(req.id);
    req.grammar?.matcher?.dispose();
    req.detach?.();
    if (req.stream) this.streaming--;
  }

  /** An engine bug: fail every request rather than hang them. */
  private failAll(error: unknown): void {
    this.log(`xinfer: internal error, failing every request: ${(error as Error)?.stack ?? error}`);
    for (const req of [...this.active.values()]) this.fail(req, error);
  }

  /** Ends a request with an error: its stream throws it; a submitted request completes with it. */
  private fail(req: ActiveRequest, error: unknown): void {
    this.scheduler.abort(req.id);
    this.counters.requestsFailed++;
    this.retire(req);
    if (req.stream) {
      req.stream.fail(error);
      return;
    }
    this.completed.push(
      completedRecord(
        req,
        now() - req.createdAt,
        'error',
        (error as Error)?.message ?? String(error),
      ),
    );
  }
}
