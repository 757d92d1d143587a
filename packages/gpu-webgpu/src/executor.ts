import {
  DEFAULT_BLOCK_SIZE,
  ExecutorError,
  type ForwardBatch,
  type ForwardResult,
  type KvCacheShape,
  kvGeometry,
  type ModelConfig,
  type ModelExecutor,
  type ModelWeights,
  sequenceBatch,
  validateBatch,
} from '@x/model';
import { KvBlockMover } from './block-moves.js';
import { build, type ExecutorParts } from './build.js';
import type { GpuDevice } from './device.js';
import { GpuExecutorError } from './errors.js';
import { STEP_UNIFORM_WORDS, TILED_MIN_TOKENS } from './kernels/kernels.js';
import type { GpuSampler, SamplerRow } from './kernels/sampler.js';
import type { Op } from './op.js';
import type { WebGpuExecutorInfo, WebGpuExecutorOptions } from './options.js';
import { encodeTimedPasses, type KernelTiming } from './profiling.js';
import { packStepData } from './step-data.js';

let defaultDevice: (() => Promise<GpuDevice>) | undefined;

/**
 * Where {@link WebGpuExecutor.create} gets a device when given none: each entry point (Node, browser)
 * sets its own `requestGpuDevice`, so no Node-only import reaches the browser build.
 * @internal
 */
export function setDefaultGpuDevice(request: () => Promise<GpuDevice>): void {
  defaultDevice = request;
}

/**
 * Runs a model's graph (every architecture @x/model maps, lowered by `lower.ts` to this package's
 * kernels) on a WebGPU device. Weights are uploaded once
 * and stay in their file types (decoded inside the matmul kernels); K/V live in paged per-layer
 * buffers addressed through block tables; one step is one command encoder with one compute pass of
 * cached pipelines and bind groups; device memory (weights, KV pool, one activation arena sized for
 * the step budget) is allocated at creation and never grows.
 */
export type { WebGpuExecutorInfo, WebGpuExecutorOptions } from './options.js';
export type { KernelTiming } from './profiling.js';

export class WebGpuExecutor implements ModelExecutor {
  readonly config: ModelConfig;
  readonly kvCache: KvCacheShape;
  readonly info: WebGpuExecutorInfo;
  private readonly device: GPUDevice;
  private readonly ownsDevice: boolean;
  private readonly buffers: GPUBuffer[];
  private readonly ops: Op[];
  private readonly stepUniform: GPUBuffer;
  private readonly stepData: GPUBuffer;
  private readonly stepDataWords: number;
  /** Tokens per attention tile (1: no tiled attention kernel for this shape). */
  private readonly tileTokens: number;
  private readonly logits: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly sampler: GpuSampler;
  private readonly blocks: KvBlockMover;
  private readonly limits: { tokens: number; sequences: number; modelLen: number };
  private logitsStaging: GPUBuffer | undefined;
  private lost: GPUDeviceLostInfo | undefined;
  private lastTimings: KernelTiming[] | undefined;
  private disposed = false;
  private running: Promise<unknown> = Promise.resolve();

  private constructor(parts: ExecutorParts) {
    this.config = parts.config;
    this.kvCache = parts.kvCache;
    this.info = parts.info;
    this.device = parts.device;
    this.ownsDevice = parts.ownsDevice;
    this.buffers = parts.buffers;
    this.ops = parts.ops;
    this.stepUniform = parts.stepUniform;
    this.stepData = parts.stepData;
    this.stepDataWords = parts.stepDataWords;
    this.tileTokens = parts.tileTokens;
    this.logits = parts.logits;
    this.readback = parts.readback;
    this.sampler = parts.sampler;
    this.limits = parts.limits;
    const kvDim = parts.config.numKvHeads * parts.config.headDim;
    this.blocks = new KvBlockMover(
      parts.device,
      parts.keys,
      parts.values,
      parts.kvCache.blockSize * kvDim * (parts.kvCacheDtype === 'f16' ? 2 : 4),
      parts.kvCache.numHostBlocks,
    );
    void this.device.lost.then((info) => {
      this.lost = info;
    });
  }

  /**
   * Uploads the model and plans every buffer and pipeline.
   * @throws GpuExecutorError `GPU_UNSUPPORTED_MODEL` (a weight type or shape without kernels, a
   *   buffer over the device's binding limit), `GPU_OUT_OF_MEMORY` naming what did not fit
   * @throws GpuUnavailableError when no device is given and none can be had
   */
  /**
   * The most KV blocks a device can hold for a model: each layer's K (and V) is one storage
   * binding, so a pool is at most `maxStorageBufferBindingSize` (and `maxBufferSize`) bytes a
   * layer. WebGPU does not say how much memory a device has; the engine sizes the pool by this
   * and by what the caller allows (`kvCacheMemoryMb`), never by host memory.
   */
  static kvCapacity(
    gpu: Pick<GpuDevice, 'limits'>,
    config: Pick<ModelConfig, 'numKvHeads' | 'headDim'>,
    options: { blockSize?: number; kvCacheDtype?: 'f32' | 'f16' } = {},
  ): { maxBlocks: number; blockBytesPerLayer: number } {
    const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    const bytes = options.kvCacheDtype === 'f16' ? 2 : 4;
    const blockBytesPerLayer = blockSize * config.numKvHeads * config.headDim * bytes;
    const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    return { maxBlocks: Math.floor(limit / blockBytesPerLayer), blockBytesPerLayer };
  }

  static async create(
    model: { config: ModelConfig; weights: ModelWeights; name?: string },
    options: WebGpuExecutorOptions,
  ): Promise<WebGpuExecutor> {
    const { config: c } = model;
    const { blockSize, numHostBlocks } = kvGeometry(options);
    const limits = {
      tokens: options.maxTokensPerStep ?? 2048,
      sequences: options.maxSequencesPerStep ?? 256,
      modelLen: options.maxModelLen ?? Math.min(c.contextLength, 8192),
    };
    for (const [name, value] of Object.entries(limits)) {
      if (!(Number.isInteger(value) && value > 0)) {
        throw new GpuExecutorError(
          `${name} must be a positive integer, got ${value}`,
          'GPU_BAD_OPTIONS',
        );
      }
    }
    if (c.headDim % 4 !== 0 || c.hiddenSize % 32 !== 0) {
      throw new GpuExecutorError(
        `head size ${c.headDim} and hidden size ${c.hiddenSize}: the WebGPU kernels need multiples of 4 and 32`,
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    if (!options.gpu && !defaultDevice) {
      throw new GpuExecutorError(
        'WebGpuExecutor.create: pass options.gpu (no default device source is set)',
        'GPU_BAD_OPTIONS',
      );
    }
    const gpu = options.gpu ?? (await defaultDevice!());
    const { device } = gpu;
    const ownsDevice = options.ownsDevice ?? options.gpu === undefined;
    try {
      const executor = new WebGpuExecutor(
        await build(model, gpu, { ...options, blockSize, numHostBlocks }, limits, ownsDevice),
      );
      await executor.warmUp();
      return executor;
    } catch (error) {
      if (ownsDevice) device.destroy();
      throw error;
    }
  }

  /**
   * Runs every kernel once (a one-token step and, budget allowing, a prefill-sized one), so that
   * drivers that compile pipelines on first use do it now and not in a user's first request. The
   * K/V written to block 0 is overwritten before any sequence reads it.
   */
  private async warmUp(): Promise<void> {
    const sizes = [1, Math.min(TILED_MIN_TOKENS, this.limits.tokens)];
    for (const n of new Set(sizes)) {
      const blocks = Math.ceil(n / this.kvCache.blockSize);
      if (blocks > this.kvCache.numBlocks || n > this.limits.modelLen) continue;
      await this.step(
        sequenceBatch({
          tokenIds: new Array(n).fill(0),
          start: 0,
          blockTable: Array.from({ length: blocks }, (_, b) => b),
          blockSize: this.kvCache.blockSize,
          sampling: { temperature: 0 },
        }),
        'sample',
      );
    }
  }

  async execute(
    batch: ForwardBatch,
    options: { signal?: AbortSignal } = {},
  ): Promise<ForwardResult> {
    const run = this.running.then(() => this.run(batch, options.signal));
    this.running = run.catch(() => {});
    return run;
  }

  private async run(batch: ForwardBatch, signal: AbortSignal | undefined): Promise<ForwardResult> {
    this.checkUsable();
    if (signal?.aborted)
      throw new ExecutorError('aborted before the batch ran', 'EXECUTOR_ABORTED');
    const { sampled } = await this.step(batch, 'sample');
    return sampled!;
  }

  /**
   * Runs a batch without sampling and returns the logits at the last token of each sequence with
   * `sample: true`, in batch order: for parity tests against `ReferenceExecutor.forward`.
   * @throws ExecutorError when the batch is malformed (the cache is unchanged)
   */
  async forward(batch: ForwardBatch): Promise<Float32Array[]> {
    const run = this.running.then(() => {
      this.checkUsable();
      return this.step(batch, 'logits').then((out) => out.logits!);
    });
    this.running = run.catch(() => {});
    return run;
  }

  private checkUsable(): void {
    if (this.disposed) {
      throw new ExecutorError('the executor has been disposed', 'EXECUTOR_DISPOSED');
    }
    if (this.lost) {
      throw new GpuExecutorError(
        `the WebGPU device was lost (${this.lost.reason}: ${this.lost.message})`,
        'GPU_DEVICE_LOST',
      );
    }
  }

  /**
   * Runs a batch as {@link forward} does, one compute pass per kernel with timestamp queries
   * around each, and returns the GPU time of each kernel summed over layers, slowest first.
   * @throws GpuExecutorError `GPU_UNSUPPORTED_MODEL` when the device lacks `timestamp-query`
   */
  async profile(batch: ForwardBatch): Promise<KernelTiming[]> {
    if (!this.device.features.has('timestamp-query')) {
      throw new GpuExecutorError(
        'profiling needs the timestamp-query feature, which this adapter lacks',
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    const run = this.running.then(async () => {
      this.checkUsable();
      await this.step(batch, 'profile');
      return this.lastTimings ?? [];
    });
    this.running = run.catch(() => {});
    return run;
  }

  /**
   * One step: `'logits'` reads back the sampled rows' logits (raw: no token mask applied);
   * `'sample'` samples them on the device (token masks included) and reads back token ids (and
   * log-probabilities); `'profile'` samples with every kernel in its own timed pass.
   */
  private async step(
    batch: ForwardBatch,
    mode: 'logits' | 'sample' | 'profile',
  ): Promise<{ logits?: Float32Array[]; sampled?: ForwardResult }> {
    validateBatch(batch, this.kvCache, this.config.vocabSize);
    const T = batch.tokenIds.length;
    const seqs = batch.sequences;
    const sampled = seqs.filter((s) => s.sample);
    const S = sampled.length;
    if (T > this.limits.tokens || seqs.length > this.limits.sequences) {
      throw new ExecutorError(
        `a batch of ${T} tokens in ${seqs.length} sequences is over this executor's budget ` +
          `(maxTokensPerStep ${this.limits.tokens}, maxSequencesPerStep ${this.limits.sequences})`,
        'EXECUTOR_BAD_BATCH',
      );
    }
    const maxPosition = seqs.reduce((m, s) => Math.max(m, s.start + s.numTokens), 0);
    if (maxPosition > this.limits.modelLen) {
      throw new ExecutorError(
        `a sequence reaches position ${maxPosition}, past this executor's maxModelLen ${this.limits.modelLen}`,
        'EXECUTOR_BAD_BATCH',
      );
    }
    const { data, tiles } = packStepData(
      batch,
      sampled,
      this.kvCache.blockSize,
      this.tileTokens,
      this.stepDataWords,
    );
    const sampleOnDevice = mode !== 'logits' && S > 0;
    const rows: SamplerRow[] = sampled.map((seq, row) => ({
      row,
      params: seq.sampling,
      promptTokenIds: seq.promptTokenIds,
      outputTokenIds: seq.outputTokenIds,
    }));
    if (sampleOnDevice) this.sampler.prepare(rows);
    const uniform = new Uint32Array(STEP_UNIFORM_WORDS);
    uniform.set([T, S, T, 2 * T, 3 * T, 4 * T, 4 * T + S]);
    const { device } = this;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    device.queue.writeBuffer(this.stepUniform, 0, uniform);
    device.queue.writeBuffer(this.stepData, 0, data);
    const encoder = device.createCommandEncoder({ label: 'xinfer step' });
    const swapOutBuffer = this.blocks.encode(encoder, batch);
    const sample = sampleOnDevice
      ? (pass: GPUComputePassEncoder) => this.sampler.encode(pass, this.logits)
      : undefined;
    const timed =
      mode === 'profile'
        ? encodeTimedPasses(this.device, this.ops, encoder, T, S, tiles, sample)
        : undefined;
    if (!timed) {
      const pass = encoder.beginComputePass({ label: 'forward' });
      for (const op of this.ops) {
        const [x, y, z] = op.grid(T, S, tiles);
        if (x === 0 || y === 0 || z === 0) continue;
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(x, y, z);
      }
      sample?.(pass);
      pass.end();
    }
    const readBytes = sampleOnDevice ? this.sampler.resultBytes(S) : S * this.config.vocabSize * 4;
    const readback = sampleOnDevice ? this.readback : this.logitsReadback();
    if (S > 0) {
      encoder.copyBufferToBuffer(
        sampleOnDevice ? this.sampler.result : this.logits,
        0,
        readback,
        0,
        readBytes,
      );
    }
    device.queue.submit([encoder.finish()]);
    const oom = device.popErrorScope();
    const invalid = device.popErrorScope();
    const what = `a batch of ${T} tokens (${seqs.length} sequences)`;
    try {
      const [oomError, validationError] = await Promise.all([oom, invalid]);
      if (oomError) {
        throw new GpuExecutorError(
          `out of device memory running ${what}: ${oomError.message}`,
          'GPU_OUT_OF_MEMORY',
        );
      }
      if (validationError) {
        throw new GpuExecutorError(
          `the device rejected ${what}: ${validationError.message}`,
          'GPU_DEVICE_ERROR',
        );
      }
      let bytes = new ArrayBuffer(0);
      if (S > 0) {
        await readback.mapAsync(GPUMapMode.READ, 0, readBytes);
        bytes = readback.getMappedRange(0, readBytes).slice(0);
        readback.unmap();
      }
      if (swapOutBuffer) await this.blocks.storeSwappedOut(batch, swapOutBuffer);
      if (timed) this.lastTimings = await timed();
      if (mode !== 'logits') {
        return {
          sampled:
            S > 0 ? this.sampler.decode(bytes, rows) : { tokens: new Int32Array(0), logprobs: [] },
        };
      }
      const all = new Float32Array(bytes);
      const V = this.config.vocabSize;
      return { logits: Array.from({ length: S }, (_, i) => all.subarray(i * V, (i + 1) * V)) };
    } catch (error) {
      if (this.lost || error instanceof GpuExecutorError) {
        this.checkUsable();
        throw error;
      }
      throw new GpuExecutorError(
        `running ${what} failed: ${(error as Error).message}`,
        'GPU_DEVICE_ERROR',
        {
          cause: error,
        },
      );
    }
  }

  /**
   * The staging buffer logits rows come back through (`forward`), made the first time: sampling
   * steps read back token ids only, so most executors never need it.
   */
  private logitsReadback(): GPUBuffer {
    this.logitsStaging ??= this.device.createBuffer({
      label: 'logits readback',
      size: this.limits.sequences * this.config.vocabSize * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    return this.logitsStaging;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.running;
    for (const b of this.buffers) b.destroy();
    this.sampler.destroy();
    this.blocks.destroy();
    this.logitsStaging?.destroy();
    if (this.ownsDevice) this.device.destroy();
  }
}
