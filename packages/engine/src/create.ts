// Creating an engine: loading the model, sizing the KV cache, choosing and making the executor.
import type { KvDtype } from '@x/budget';
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
  type EngineOptions,
  PLAIN_CHAT_TEMPLATE,
  type StepBudget,
} from './engine-options.js';
import { planKvCache } from './kv-plan.js';
import { enginePlatform } from './platform.js';

/** Everything an engine is made of, once created. */
export interface EngineParts {
  config: EngineConfig;
  model: Model;
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
      { config: '', memory: ' (what the KV memory holds)', executor: ' (the executor’s)' }[sizedBy],
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
  return {
    chatTemplate: chat.template,
    config,
    model,
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
  let gpu: GpuDevice;
  try {
    gpu = await requestGpuDevice();
  } catch (error) {
    if (name === 'webgpu') throw error;
    log(`xinfer: no WebGPU adapter (${(error as Error).message}); running on ReferenceExecutor`);
    return new ReferenceExecutor(model, shape);
  }
  if (name === 'auto' && isSoftwareAdapter(gpu.adapterInfo)) {
    gpu.device.destroy();
    const { description, architecture } = gpu.adapterInfo;
    log(
      `xinfer: the only WebGPU adapter is a CPU emulation (${description || architecture}), ` +
        "which executor: 'webgpu' uses anyway; running on ReferenceExecutor",
    );
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
