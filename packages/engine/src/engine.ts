import type { KvDtype } from '@x/budget';
import {
  type GpuAdapterSummary,
  type GpuDevice,
  requestGpuDevice,
  WebGpuExecutor,
} from '@x/gpu-webgpu';
import {
  type ChatMessage,
  ChatTemplate,
  type DecodeStream,
  type ForwardBatch,
  type ForwardResult,
  type ForwardSequence,
  type KvCacheShape,
  type Model,
  type ModelExecutor,
  ReferenceExecutor,
  type SamplingParams,
  type TokenLogprobs,
} from '@x/model';
import {
  DEFAULT_SCHEDULER_CONFIG,
  type PreemptionMode,
  Scheduler,
  type SchedulerOutput,
} from '@x/scheduler';
import {
  assertPoolHoldsOneSequence,
  type EngineConfig,
  EngineConfigError,
  resolveEngineConfig,
} from './engine-config.js';
import { EngineError } from './errors.js';
import {
  type GenerationParams,
  GenerationParamsError,
  resolveGenerationParams,
} from './generation-params.js';
import {
  type FinishReason,
  type GenerationDelta,
  type GenerationResult,
  GenerationStream,
} from './generation-stream.js';
import { planKvCache } from './kv-plan.js';
import { type EngineMetrics, LatencyWindow } from './metrics.js';
import { enginePlatform } from './platform.js';
import { StopStringFilter } from './stop-strings.js';

/** What one step may hold, for executors that plan their memory ahead (the WebGPU executor). */
export interface StepBudget {
  /** Most tokens in one step (the scheduler's `maxTotalTokens`). */
  maxTokensPerStep: number;
  /** Most sequences in one step (`maxBatchSize`). */
  maxSequencesPerStep: number;
  maxModelLen: number;
}

/** Makes the executor for a model once the engine has sized the KV cache. */
export type ExecutorFactory = (
  model: Model,
  kvCache: KvCacheShape,
  budget: StepBudget,
) => ModelExecutor | Promise<ModelExecutor>;

/** What {@link InferenceEngine.create} takes: the source's `EngineConfig`, the model and the executor. */
export interface EngineOptions extends Partial<EngineConfig> {
  /** A loaded model, or the path of a GGUF file or Hugging Face directory. */
  model: Model | string;
  /**
   * What runs the model: `'auto'` (default: `WebGpuExecutor` where a hardware WebGPU adapter
   * exists, else `ReferenceExecutor`, said in a log line), `'webgpu'` (any adapter, a software one
   * such as lavapipe included; an error when there is none), `'reference'` (plain TypeScript on
   * the CPU), a factory that gets the KV geometry the engine chose, or a ready executor (whose KV
   * geometry then rules).
   */
  executor?: 'auto' | 'reference' | 'webgpu' | ExecutorFactory | ModelExecutor;
  /**
   * Memory the KV cache may take, in MiB. Default: in Node, half the free host memory at creation;
   * elsewhere, `maxNumBlocks` as asked.
   */
  kvCacheMemoryMb?: number;
  /**
   * Element type of the K/V cache, to size the pool; the WebGPU executor stores `'f16'` as halves
   * (the reference always stores f32). Default `'f32'`.
   */
  kvCacheDtype?: KvDtype;
  /** Host blocks for swapping preempted sequences (with `preemptionMode: 'swap'`). Default 0. */
  numHostBlocks?: number;
  /** Default `'recompute'`. */
  preemptionMode?: PreemptionMode;
  /** Reuse KV blocks of identical prompt prefixes. Default true. */
  enablePrefixCaching?: boolean;
  /** Requests that may wait for admission before new ones fail with `ENGINE_QUEUE_FULL`. Default unlimited. */
  maxWaitingRequests?: number;
  /**
   * A chat template (Jinja source, as in `tokenizer_config.json`) used instead of the model's.
   * Default: the model's; for a model without one, {@link PLAIN_CHAT_TEMPLATE} (logged).
   */
  chatTemplate?: string;
  /** Where the engine's log lines go; `false` for none. Default `console.error`. */
  log?: ((line: string) => void) | false;
}

/**
 * The chat template of a model that has none (a base model): the messages' contents, trimmed,
 * one per line, and nothing after the last, so the model continues the user's text. No role
 * markers: a base model has never seen any, and tokens it has no embedding for would only
 * derail it.
 */
export const PLAIN_CHAT_TEMPLATE =
  "{% for message in messages %}{% if not loop.first %}{{ '\\n' }}{% endif %}{{ message['content'] | trim }}{% endfor %}";

/** What the engine runs: for logs, `/health` and `--json` output. */
export interface EngineInfo {
  /** The model's file or directory. */
  model: string;
  architecture: string;
  /** The executor's class name (`ReferenceExecutor`, `WebGpuExecutor`, …). */
  executor: string;
  numBlocks: number;
  blockSize: number;
  numHostBlocks: number;
  /** `config`: `maxNumBlocks` as asked; `memory`: fewer, sized by `@x/budget`; `executor`: the executor's own. */
  kvCacheSizedBy: 'config' | 'memory' | 'executor';
  maxModelLen: number;
  /**
   * Where `chat()`'s template came from: the model's, the `chatTemplate` option, or
   * {@link PLAIN_CHAT_TEMPLATE} for a model without one.
   */
  chatTemplate: 'model' | 'option' | 'plain';
}

/** The source's `CompletedRequest`, for requests taken with {@link InferenceEngine.submitRequest}. */
export interface CompletedRequest {
  requestId: number;
  inputText: string;
  outputText: string;
  /** Prompt tokens, BOS included. */
  inputTokens: number;
  /** Tokens sampled, a final stop token included. */
  generatedTokens: number;
  durationMs: number;
  /** `error` when the executor failed on it; `error` then says why. */
  finishReason: FinishReason | 'error';
  error?: string;
}

/** The source's `RequestState`. */
export type RequestState = 'pending' | 'prefill' | 'decode';

/** A snapshot of a request that has not finished: the source's `Request` and `Sequence`. */
export interface RequestInfo {
  id: number;
  inputTokens: readonly number[];
  outputTokens: readonly number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  state: RequestState;
  /** Tokens whose K/V are computed. */
  numComputedTokens: number;
  /** `performance.now()` at submission. */
  createdAt: number;
}

/** Options of {@link InferenceEngine.generate} and {@link InferenceEngine.chat}. */
export interface GenerateOptions {
  /** Aborting it aborts the request at once: its KV blocks are freed, the stream throws the reason. */
  signal?: AbortSignal;
}

interface ActiveRequest {
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
}

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
  readonly model: Model;
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

  private constructor(parts: {
    config: EngineConfig;
    model: Model;
    executor: ModelExecutor;
    ownsExecutor: boolean;
    info: EngineInfo;
    options: EngineOptions;
    chatTemplate: ChatTemplate;
    log: (line: string) => void;
  }) {
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
    const log =
      options.log === false ? () => {} : (options.log ?? ((line: string) => console.error(line)));
    const {
      model: modelOption,
      executor: executorOption = 'auto',
      kvCacheMemoryMb,
      kvCacheDtype = 'f32',
      numHostBlocks = 0,
      preemptionMode,
      enablePrefixCaching,
      maxWaitingRequests,
      chatTemplate: chatTemplateOption,
      log: _log,
      ...configPart
    } = options;
    if (maxWaitingRequests !== undefined && !(maxWaitingRequests >= 0)) {
      throw new RangeError(`maxWaitingRequests must be ≥ 0, got ${maxWaitingRequests}`);
    }
    const platform = enginePlatform();
    let model: Model;
    if (typeof modelOption !== 'string') model = modelOption;
    else if (platform.loadModel) model = await platform.loadModel(modelOption);
    else {
      throw new TypeError(
        `model: loading "${modelOption}" from a path needs Node; here pass a loaded Model ` +
          '(for example loadGgufModel(blobSource(blob)) from @x/model)',
      );
    }
    const chat = resolveChatTemplate(model, chatTemplateOption);
    // maxModelLen defaults to the source's 2048 or the model's context length, whichever is less.
    const contextLength = model.config.contextLength;
    if (configPart.maxModelLen !== undefined && configPart.maxModelLen > contextLength) {
      throw new EngineConfigError(
        'maxModelLen',
        `${configPart.maxModelLen} is longer than the model's context length ${contextLength}`,
      );
    }
    let config = resolveEngineConfig(
      {
        ...configPart,
        maxModelLen:
          configPart.maxModelLen ?? Math.min(DEFAULT_SCHEDULER_CONFIG.maxModelLen, contextLength),
      },
      { checkPool: false },
    );

    let executor: ModelExecutor;
    let sizedBy: EngineInfo['kvCacheSizedBy'];
    if (typeof executorOption === 'object') {
      executor = executorOption;
      sizedBy = 'executor';
      const { numBlocks, blockSize } = executor.kvCache;
      if (numBlocks !== config.maxNumBlocks || blockSize !== config.blockSize) {
        log(
          `xinfer: the executor holds ${numBlocks} KV blocks of ${blockSize} tokens; ` +
            `using them instead of maxNumBlocks ${config.maxNumBlocks} × blockSize ${config.blockSize}`,
        );
      }
      config = { ...config, maxNumBlocks: numBlocks, blockSize };
    } else {
      const free = platform.freeMemoryBytes?.();
      const memoryBytes =
        kvCacheMemoryMb !== undefined
          ? kvCacheMemoryMb * 2 ** 20
          : free !== undefined
            ? Math.floor(free / 2)
            : Number.POSITIVE_INFINITY;
      const plan = planKvCache(model.config, config, memoryBytes, kvCacheDtype);
      if (plan.note) log(`xinfer: ${plan.note}`);
      sizedBy = plan.sizedBy;
      config = { ...config, maxNumBlocks: plan.numBlocks };
      const shape: KvCacheShape = {
        numBlocks: plan.numBlocks,
        blockSize: plan.blockSize,
        numHostBlocks,
      };
      const budget: StepBudget = {
        maxTokensPerStep: config.maxTotalTokens,
        maxSequencesPerStep: config.maxBatchSize,
        maxModelLen: config.maxModelLen,
      };
      executor =
        typeof executorOption === 'function'
          ? await executorOption(model, shape, budget)
          : await builtInExecutor(executorOption, model, shape, budget, kvCacheDtype, log);
    }
    try {
      assertPoolHoldsOneSequence(
        config,
        { config: '', memory: ' (what the KV memory holds)', executor: ' (the executor’s)' }[
          sizedBy
        ],
      );
    } catch (error) {
      if (executor !== executorOption) await executor.dispose();
      throw error;
    }
    if (executor.config.vocabSize !== model.config.vocabSize) {
      throw new TypeError(
        `the executor runs a model of ${executor.config.vocabSize} tokens; ${model.name} has ${model.config.vocabSize}`,
      );
    }
    const info: EngineInfo = {
      model: model.name,
      architecture: model.config.architecture,
      executor: executor.constructor.name,
      numBlocks: executor.kvCache.numBlocks,
      blockSize: executor.kvCache.blockSize,
      numHostBlocks: executor.kvCache.numHostBlocks,
      kvCacheSizedBy: sizedBy,
      maxModelLen: config.maxModelLen,
      chatTemplate: chat.source,
    };
    log(
      `xinfer: ${info.model} (${info.architecture}, ${model.config.numLayers} layers) on ` +
        `${info.executor}; KV cache ${info.numBlocks} blocks × ${info.blockSize} tokens; ` +
        `maxModelLen ${info.maxModelLen}`,
    );
    if (chat.source === 'plain') {
      log(
        `xinfer: ${info.model} has no chat template (a base model); chat messages are joined ` +
          'as plain text, one per line, for the model to continue (chatTemplate / --chat-template sets one)',
      );
    }
    return new InferenceEngine({
      chatTemplate: chat.template,
      config,
      model,
      executor,
      ownsExecutor: executor !== executorOption,
      info,
      options,
      log,
    });
  }

  /**
   * The source's `submit_request`: tokenizes `text` (BOS as the vocabulary asks) and queues it.
   * Its result comes back from {@link step} or {@link run}.
   * @throws GenerationParamsError naming a parameter out of range
   * @throws EngineError `ENGINE_REQUEST_REJECTED` (with the reason), `ENGINE_QUEUE_FULL`, `ENGINE_CLOSED`
   */
  submitRequest(text: string, params: Partial<GenerationParams> = {}): number {
    const resolved = resolveGenerationParams(params);
    return this.admit(text, this.model.tokenizer.encode(text), resolved).id;
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
   * Generates the assistant's reply to `messages`, rendered with the chat template
   * ({@link EngineInfo.chatTemplate} says which).
   * @throws EngineError `ENGINE_CHAT_TEMPLATE` when the template fails on the messages, and
   *   everything {@link generate} throws
   */
  chat(
    messages: readonly ChatMessage[],
    params: Partial<GenerationParams> = {},
    options: GenerateOptions = {},
  ): GenerationStream {
    const resolved = resolveGenerationParams(params);
    options.signal?.throwIfAborted();
    const prompt = this.renderChat(messages);
    const ids = this.encodeChatPrompt(prompt);
    return this.startStream(prompt, ids, resolved, options);
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

  /** The chat template applied to `messages`, with the assistant's turn opened. */
  renderChat(messages: readonly ChatMessage[]): string {
    const { tokenizer } = this.model;
    try {
      return this.chatTemplate.render(messages, {
        bosToken: tokenizer.bosToken,
        eosToken: tokenizer.eosToken,
      });
    } catch (cause) {
      throw new EngineError((cause as Error).message, 'ENGINE_CHAT_TEMPLATE', { cause });
    }
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
    const kv = this.scheduler.kv;
    const { queriedTokens, hitTokens } = kv.prefixCacheStats;
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
      numBlocks: kv.device.numBlocks,
      numFreeBlocks: kv.numFreeBlocks,
      kvUsage: kv.usage,
      prefixCacheHitRate: queriedTokens > 0 ? hitTokens / queriedTokens : 0,
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
    if (this.ownsExecutor) await this.executor.dispose();
  }

  private startStream(
    inputText: string,
    ids: number[],
    params: GenerationParams,
    { signal }: GenerateOptions,
  ): GenerationStream {
    const req = this.admit(inputText, ids, params);
    const stream = new GenerationStream(req.id, (reason) => this.abort(req.id, reason));
    req.stream = stream;
    this.streaming++;
    if (signal) {
      const onAbort = () => this.abort(req.id, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      req.detach = () => signal.removeEventListener('abort', onAbort);
    }
    this.wake();
    return stream;
  }

  private admit(
    inputText: string,
    promptTokenIds: number[],
    params: GenerationParams,
  ): ActiveRequest {
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
    for (const id of params.logitBias?.keys() ?? []) {
      if (id >= vocabSize) {
        this.counters.requestsRejected++;
        throw new GenerationParamsError(
          'logitBias',
          `token id ${id} is outside the vocabulary (0..${vocabSize - 1})`,
        );
      }
    }
    if (this.scheduler.numWaiting >= this.maxWaiting) {
      throw new EngineError(
        `${this.scheduler.numWaiting} requests are waiting, the most allowed (maxWaitingRequests)`,
        'ENGINE_QUEUE_FULL',
      );
    }
    const id = this.nextId++;
    const rejection = this.scheduler.addRequest({
      id,
      promptTokens: promptTokenIds,
      maxTokens: params.maxTokens,
      stopTokenIds: [...this.stopTokenIds, ...params.stopTokenIds],
    });
    if (rejection) {
      this.counters.requestsRejected++;
      throw new EngineError(rejection.reason, 'ENGINE_REQUEST_REJECTED', { requestId: id });
    }
    this.counters.promptTokens += promptTokenIds.length;
    const req: ActiveRequest = {
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
      decoder: this.model.tokenizer.createDecodeStream({
        skipSpecialTokens: true,
        continuation: promptTokenIds.some((id) => !this.model.tokenizer.isSpecial(id)),
      }),
      stops: new StopStringFilter(params.stop),
      state: 'pending',
      numComputed: 0,
      createdAt: now(),
      firstTokenAt: 0,
      lastTokenAt: 0,
      stream: undefined,
      detach: undefined,
    };
    this.active.set(id, req);
    return req;
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
      this.failAll(new Error('the scheduler planned nothing while requests were pending'));
      return;
    }
    const batch = this.toBatch(plan);
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

  private toBatch(plan: SchedulerOutput): ForwardBatch {
    const positions = new Int32Array(plan.numBatchedTokens);
    const sequences = plan.scheduled.map((s): ForwardSequence => {
      for (let j = 0; j < s.numTokens; j++) positions[s.offset + j] = s.start + j;
      const req = this.active.get(s.seqId) as ActiveRequest;
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
      if (!finishReason) this.scheduler.abort(req.id); // frees its blocks now
      finishReason = 'stop';
    } else if (finishReason) {
      delta.text += req.stops.flush();
    }
    req.text += delta.text;
    if (delta.text !== '' || delta.tokenIds.length > 0) req.stream?.push(delta);
    if (finishReason) this.finish(req, finishReason, stop, t);
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
    if (!req.stream) {
      this.complete(req, totalMs, finishReason);
      return;
    }
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
        totalMs,
        decodeTokPerSec: decodeMs > 0 ? ((req.sampled.length - 1) * 1000) / decodeMs : 0,
      },
    };
    if (stop !== undefined) result.stop = stop;
    if (req.logprobs) result.logprobs = req.logprobs;
    req.stream.finish(result);
  }

  /** Forgets a request that finished, failed or was aborted. */
  private retire(req: ActiveRequest): void {
    this.active.delete(req.id);
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
    this.complete(req, now() - req.createdAt, 'error', (error as Error)?.message ?? String(error));
  }

  /** Records a {@link submitRequest} request's end, for the next {@link step}. */
  private complete(
    req: ActiveRequest,
    durationMs: number,
    finishReason: CompletedRequest['finishReason'],
    error?: string,
  ): void {
    this.completed.push({
      requestId: req.id,
      inputText: req.inputText,
      outputText: req.text,
      inputTokens: req.promptTokenIds.length,
      generatedTokens: req.sampled.length,
      durationMs,
      finishReason,
      ...(error !== undefined ? { error } : {}),
    });
  }
}

/** An executor's result must have one in-vocabulary token per sequence that asked for one. */
function checkResult(batch: ForwardBatch, result: ForwardResult, vocabSize: number): void {
  const wanted = batch.sequences.reduce((n, s) => n + (s.sample ? 1 : 0), 0);
  if (result.tokens.length !== wanted) {
    throw new Error(`the executor returned ${result.tokens.length} tokens for ${wanted} sequences`);
  }
  for (const token of result.tokens) {
    if (!(token >= 0 && token < vocabSize)) {
      throw new Error(`the executor returned token ${token}, outside the vocabulary`);
    }
  }
}

/**
 * The template `chat()` renders with: the option's (parsed here, so a bad one fails at creation),
 * the model's, or the plain one for a model without any.
 * @throws EngineConfigError when the `chatTemplate` option does not parse
 */
function resolveChatTemplate(
  model: Model,
  option: string | undefined,
): { template: ChatTemplate; source: EngineInfo['chatTemplate'] } {
  if (option !== undefined) {
    try {
      return { template: new ChatTemplate(option), source: 'option' };
    } catch (cause) {
      throw new EngineConfigError('chatTemplate', (cause as Error).message);
    }
  }
  if (model.chatTemplate) return { template: model.chatTemplate, source: 'model' };
  return { template: new ChatTemplate(PLAIN_CHAT_TEMPLATE), source: 'plain' };
}

/** Why `'auto'` found no hardware adapter, once it has looked: the adapters do not change. */
let noHardwareAdapter: string | undefined;

/**
 * The executor `'auto'`, `'webgpu'` or `'reference'` names. `'auto'` takes a WebGPU adapter only
 * when it is hardware: a software one (lavapipe, SwiftShader) runs kernels on CPU threads, where
 * the reference is the honest choice.
 * @throws GpuUnavailableError for `'webgpu'` without an adapter
 */
async function builtInExecutor(
  name: 'auto' | 'reference' | 'webgpu',
  model: Model,
  shape: KvCacheShape,
  budget: StepBudget,
  kvCacheDtype: KvDtype,
  log: (line: string) => void,
): Promise<ModelExecutor> {
  if (name === 'reference') return new ReferenceExecutor(model, shape);
  if (kvCacheDtype === 'q8_0') {
    throw new TypeError("kvCacheDtype 'q8_0' has no WebGPU kernels; use 'f16' or 'f32'");
  }
  if (name === 'auto' && noHardwareAdapter) {
    log(`xinfer: ${noHardwareAdapter}; running on ReferenceExecutor`);
    return new ReferenceExecutor(model, shape);
  }
  let gpu: GpuDevice;
  try {
    gpu = await requestGpuDevice();
  } catch (error) {
    if (name === 'webgpu') throw error;
    noHardwareAdapter = `no WebGPU adapter (${(error as Error).message})`;
    log(`xinfer: ${noHardwareAdapter}; running on ReferenceExecutor`);
    return new ReferenceExecutor(model, shape);
  }
  if (name === 'auto' && isSoftwareAdapter(gpu.adapterInfo)) {
    gpu.device.destroy();
    const { description, architecture } = gpu.adapterInfo;
    noHardwareAdapter =
      `the only WebGPU adapter is a CPU emulation (${description || architecture}), ` +
      "which executor: 'webgpu' uses anyway";
    log(`xinfer: ${noHardwareAdapter}; running on ReferenceExecutor`);
    return new ReferenceExecutor(model, shape);
  }
  return WebGpuExecutor.create(model, { ...shape, ...budget, gpu, ownsDevice: true, kvCacheDtype });
}

/** Whether an adapter runs on CPU threads (Mesa's lavapipe/llvmpipe, SwiftShader, WARP). */
export function isSoftwareAdapter(info: GpuAdapterSummary): boolean {
  return (
    info.isFallbackAdapter ||
    info.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|microsoft basic render/i.test(
      `${info.description} ${info.device} ${info.vendor}`,
    )
  );
}
