// Creating an engine: loading the model, sizing the KV cache, choosing and making the executor.
import type { KvDtype } from '@x/budget';
import { CpuWasmExecutor } from '@x/cpu-wasm';
import {
  type GpuAdapterSummary,
  type GpuDevice,
  requestGpuDevice,
  WebGpuExecutor,
} from '@x/gpu-webgpu';
import {
  ChatTemplate,
  type KvCacheShape,
  type Model,
  type ModelExecutor,
  ReferenceExecutor,
} from '@x/model';
import { DEFAULT_SCHEDULER_CONFIG } from '@x/scheduler';
import {
  assertPoolHoldsOneSequence,
  type EngineConfig,
  EngineConfigError,
  resolveEngineConfig,
} from './engine-config.js';
import {
  type EngineInfo,
  type EngineModel,
  type EngineOptions,
  type ExecutorFactory,
  PLAIN_CHAT_TEMPLATE,
  type StepBudget,
} from './engine-options.js';
import { planKvCache } from './kv-plan.js';
import { enginePlatform } from './platform.js';

/** Everything an engine is made of, once created. */
export interface EngineParts {
  config: EngineConfig;
  model: EngineModel;
  executor: ModelExecutor;
  ownsExecutor: boolean;
  info: EngineInfo;
  options: EngineOptions;
  chatTemplate: ChatTemplate;
  log: (line: string) => void;
}

/**
 * Loads the model (when given a path), sizes the KV cache, makes the executor and says which in
 * a log line.
 * @throws EngineConfigError naming the field out of range, or when the KV memory cannot hold one
 *   sequence of `maxModelLen` tokens
 * @throws ModelFileError when the model file is bad
 */
export async function createEngineParts(options: EngineOptions): Promise<EngineParts> {
  const log =
    options.log === false ? () => {} : (options.log ?? ((line: string) => console.error(line)));
  const {
    model: modelOption,
    executor: executorOption = 'auto',
    threads,
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
  if (
    threads !== undefined &&
    (!Number.isInteger(threads) ||
      threads < 1 ||
      threads > 256 ||
      !(executorOption === 'cpu' || executorOption === 'auto'))
  ) {
    throw new EngineConfigError(
      'threads',
      executorOption === 'cpu' || executorOption === 'auto'
        ? `must be an integer from 1 to 256, got ${String(threads)}`
        : "sets the CPU executor's threads: it needs executor 'cpu' or 'auto'",
    );
  }
  if (maxWaitingRequests !== undefined && !(maxWaitingRequests >= 0)) {
    throw new EngineConfigError('maxWaitingRequests', `must be ≥ 0, got ${maxWaitingRequests}`);
  }
  const platform = enginePlatform();
  let model: Model;
  if (typeof modelOption !== 'string') model = modelOption;
  else if (platform.loadModel) model = await platform.loadModel(modelOption);
  else {
    throw new EngineConfigError(
      'model',
      `loading "${modelOption}" from a path needs Node; here pass a loaded Model ` +
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
    const budget: StepBudget = {
      maxTokensPerStep: config.maxTotalTokens,
      maxSequencesPerStep: config.maxBatchSize,
      maxModelLen: config.maxModelLen,
    };
    // Where the cache lives decides what sizes it: host memory for a host executor (and for a
    // factory's, which may be either), the device's limits for WebGPU.
    const gpuKvDtype = kvCacheDtype === 'f16' ? 'f16' : 'f32';
    const target =
      typeof executorOption === 'function'
        ? ({ kind: 'factory' } as const)
        : await chooseBuiltIn(executorOption, kvCacheDtype, log);
    if (target.kind === 'webgpu' && threads !== undefined) {
      log(`xinfer: threads ${threads} is for the CPU executor; running on WebGPU`);
    }
    const free = target.kind === 'webgpu' ? undefined : platform.freeMemoryBytes?.();
    const memoryBytes =
      kvCacheMemoryMb !== undefined
        ? kvCacheMemoryMb * 2 ** 20
        : free !== undefined
          ? Math.floor(free / 2)
          : Number.POSITIVE_INFINITY;
    const plan = planKvCache(model.config, config, memoryBytes, kvCacheDtype);
    if (plan.note) log(`xinfer: ${plan.note}`);
    sizedBy = plan.sizedBy;
    let numBlocks = plan.numBlocks;
    if (target.kind === 'cpu') {
      const capacity = CpuWasmExecutor.kvCapacity(model, {
        blockSize: plan.blockSize,
        threads,
        kvCacheDtype: gpuKvDtype,
      });
      if (capacity.maxBlocks < numBlocks) {
        log(
          `xinfer: the CPU executor's memory (wasm32, 4 GiB) holds at most ${capacity.maxBlocks} ` +
            `KV blocks beside the weights; using them instead of ${numBlocks}`,
        );
        numBlocks = capacity.maxBlocks;
        sizedBy = 'executor';
      }
    }
    if (target.kind === 'webgpu') {
      const capacity = WebGpuExecutor.kvCapacity(target.gpu, model.config, {
        blockSize: plan.blockSize,
        kvCacheDtype: gpuKvDtype,
      });
      if (capacity.maxBlocks < numBlocks) {
        log(
          `xinfer: the WebGPU device binds at most ${capacity.maxBlocks} KV blocks a layer ` +
            `(maxStorageBufferBindingSize); using them instead of ${numBlocks}`,
        );
        numBlocks = capacity.maxBlocks;
        sizedBy = 'executor';
      }
    }
    config = { ...config, maxNumBlocks: numBlocks };
    const shape: KvCacheShape = { numBlocks, blockSize: plan.blockSize, numHostBlocks };
    executor =
      target.kind === 'factory'
        ? await (executorOption as ExecutorFactory)(model, shape, budget)
        : target.kind === 'reference'
          ? new ReferenceExecutor(model, shape)
          : target.kind === 'cpu'
            ? await CpuWasmExecutor.create(model, {
                ...shape,
                threads,
                maxBatchTokens: budget.maxTokensPerStep,
                kvCacheDtype: gpuKvDtype,
              })
            : await WebGpuExecutor.create(model, {
                ...shape,
                ...budget,
                gpu: target.gpu,
                ownsDevice: true,
                kvCacheDtype: gpuKvDtype,
              });
  }
  try {
    assertPoolHoldsOneSequence(
      config,
      { config: '', memory: ' (what the KV memory holds)', executor: ' (the executor’s)' }[sizedBy],
    );
  } catch (error) {
    if (executor !== executorOption) await executor.dispose();
    throw error;
  }
  if (executor.config.vocabSize !== model.config.vocabSize) {
    throw new EngineConfigError(
      'executor',
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
  // The engine loaded the file itself and its executor copied the weights into its own memory:
  // keep none, so the file's bytes are freed (the reference executor reads them where they are).
  let kept: EngineModel = model;
  if (
    typeof modelOption === 'string' &&
    (executor instanceof CpuWasmExecutor || executor instanceof WebGpuExecutor)
  ) {
    const { weights: _released, ...rest } = model;
    kept = rest;
  }
  return {
    chatTemplate: chat.template,
    config,
    model: kept,
    executor,
    ownsExecutor: executor !== executorOption,
    info,
    options,
    log,
  };
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

/**
 * What `'auto'`, `'cpu'`, `'webgpu'` or `'reference'` runs on: the reference executor, the CPU
 * executor, or a WebGPU device. `'auto'` takes a WebGPU adapter only when it is hardware: a
 * software one (lavapipe, SwiftShader) runs kernels on CPU threads, where the CPU executor's
 * WebAssembly kernels are the faster choice.
 * @throws GpuUnavailableError for `'webgpu'` without an adapter
 * @throws EngineConfigError `kvCacheDtype` for `'q8_0'` (neither the CPU executor nor WebGPU
 *   has kernels for it)
 */
async function chooseBuiltIn(
  name: 'auto' | 'cpu' | 'reference' | 'webgpu',
  kvCacheDtype: KvDtype,
  log: (line: string) => void,
): Promise<{ kind: 'reference' } | { kind: 'cpu' } | { kind: 'webgpu'; gpu: GpuDevice }> {
  if (name === 'reference') return { kind: 'reference' };
  const cpu = (): { kind: 'cpu' } => {
    if (kvCacheDtype === 'q8_0') {
      throw new EngineConfigError(
        'kvCacheDtype',
        "'q8_0' has no CPU executor kernels; use 'f16' or 'f32'",
      );
    }
    return { kind: 'cpu' };
  };
  if (name === 'cpu') return cpu();
  if (kvCacheDtype === 'q8_0') {
    throw new EngineConfigError('kvCacheDtype', "'q8_0' has no WebGPU kernels; use 'f16' or 'f32'");
  }
  let gpu: GpuDevice;
  try {
    gpu = await requestGpuDevice();
  } catch (error) {
    if (name === 'webgpu') throw error;
    log(`xinfer: no WebGPU adapter (${(error as Error).message}); running on CpuWasmExecutor`);
    return cpu();
  }
  if (name === 'auto' && isSoftwareAdapter(gpu.adapterInfo)) {
    gpu.device.destroy();
    const { description, architecture } = gpu.adapterInfo;
    log(
      `xinfer: the only WebGPU adapter is a CPU emulation (${description || architecture}), ` +
        "which executor: 'webgpu' uses anyway; running on CpuWasmExecutor",
    );
    return cpu();
  }
  return { kind: 'webgpu', gpu };
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
