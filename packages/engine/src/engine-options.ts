// What InferenceEngine.create takes and what the engine reports: options, the executor factory's
// contract, engine info, request records and snapshots.
import type { KvDtype } from '@x/budget';
import type { KvCacheShape, Model, ModelExecutor, ModelWeights } from '@x/model';
import type { PreemptionMode } from '@x/scheduler';
import type { EngineConfig } from './engine-config.js';
import type { FinishReason } from './generation-stream.js';

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

/**
 * The model as an engine keeps it (`engine.model`): name, config, tokenizer and chat template,
 * and its weights only while something may read them there. When the engine loads the file itself
 * and its executor copies the weights into its own memory (the CPU executor's wasm memory, the
 * WebGPU device), it drops them, so the file's bytes are not held twice.
 */
export type EngineModel = Omit<Model, 'weights'> & { weights?: ModelWeights };

/** What {@link InferenceEngine.create} takes: the source's `EngineConfig`, the model and the executor. */
export interface EngineOptions extends Partial<EngineConfig> {
  /** A loaded model, or the path of a GGUF file or Hugging Face directory. */
  model: Model | string;
  /**
   * What runs the model: `'auto'` (default: `WebGpuExecutor` where a hardware WebGPU adapter
   * exists, else `CpuWasmExecutor`, said in a log line), `'cpu'` (WebAssembly SIMD kernels on
   * worker threads), `'webgpu'` (any adapter, a software one such as lavapipe included; an error
   * when there is none), `'reference'` (plain TypeScript, one thread: the numerical oracle), a
   * factory that gets the KV geometry the engine chose, or a ready executor (whose KV geometry
   * then rules).
   */
  executor?: 'auto' | 'cpu' | 'reference' | 'webgpu' | ExecutorFactory | ModelExecutor;
  /**
   * Worker threads of the CPU executor. Default: the machine's cores (in a browser,
   * `navigator.hardwareConcurrency` where the page is cross-origin isolated, else 1). Only for
   * `'cpu'`, and for `'auto'` when it runs on the CPU (a log line says when WebGPU runs instead).
   */
  threads?: number;
  /**
   * Memory the KV cache may take, in MiB. Default: in Node, half the free host memory at creation;
   * elsewhere, `maxNumBlocks` as asked.
   */
  kvCacheMemoryMb?: number;
  /**
   * Element type of the K/V cache, to size the pool; the CPU and WebGPU executors store `'f16'` as
   * halves (the reference always stores f32). Default `'f32'`.
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

/** A function the model may call, as OpenAI's API and Hugging Face chat templates describe one. */
export interface ChatTool {
  type: 'function';
  function: {
    name: string;
    description?: string | undefined;
    /** JSON Schema of the arguments object. */
    parameters?: Record<string, unknown> | undefined;
    [key: string]: unknown;
  };
}

/** Options of `chat` and `renderChat`. */
export interface ChatOptions extends GenerateOptions {
  /**
   * Tools the template lists for the model (its `tools` variable), as transformers'
   * `apply_chat_template(tools=…)` passes them. Default none.
   */
  tools?: readonly ChatTool[] | undefined;
}
