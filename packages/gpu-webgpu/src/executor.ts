import {
  buildModelGraph,
  ExecutorError,
  type ForwardBatch,
  type ForwardResult,
  type KvCacheShape,
  MAX_LOGIT_BIAS,
  type ModelConfig,
  type ModelExecutor,
  type ModelWeights,
  type RopeSpec,
  sequenceBatch,
  validateBatch,
  type WeightMatrix,
} from '@x/model';
import type { GpuDevice } from './device.js';
import { GpuExecutorError } from './errors.js';
import {
  attentionTileTokens,
  embedShader,
  MATMUL_TILE,
  type MatmulVariant,
  matmulShader,
  STEP_UNIFORM_WORDS,
  TILED_MIN_TOKENS,
  tiledMatmulShader,
} from './kernels/kernels.js';
import { GpuSampler, type SamplerRow } from './kernels/sampler.js';
import { type PackedWeight, packWeight } from './kernels/weights.js';
import { type Grid, type LoweringTarget, lowerGraph } from './lower.js';

/** Options of {@link WebGpuExecutor.create}. */
export interface WebGpuExecutorOptions {
  /** Device KV blocks. */
  numBlocks: number;
  /** Tokens per block. Default 16. */
  blockSize?: number;
  /** Host blocks for swapping. Default 0. */
  numHostBlocks?: number;
  /** Most tokens one batch may hold: sizes the activation arena. Default 2048. */
  maxTokensPerStep?: number;
  /** Most sequences one batch may hold. Default 256. */
  maxSequencesPerStep?: number;
  /** Longest sequence (sizes the RoPE table and block tables). Default the model's context, at most 8192. */
  maxModelLen?: number;
  /** The device to run on; default one from `requestGpuDevice()`, destroyed by `dispose()`. */
  gpu?: GpuDevice;
  /**
   * Element type of the K/V cache: `'f32'` (default) or `'f16'` (half the memory and attention
   * traffic; needs the adapter's `shader-f16`).
   */
  kvCacheDtype?: 'f32' | 'f16';
  /**
   * Largest binding a weight matrix takes; a larger one (a large vocabulary's embedding or output)
   * is split into row ranges of at most this size, one matmul each. Default (and at most) the
   * device's `maxStorageBufferBindingSize`.
   */
  maxWeightBindingBytes?: number;
  /** Destroy `gpu` on `dispose()` (and when creation fails). Default: only a device it requested. */
  ownsDevice?: boolean;
}

/** What the executor runs on and what it holds on the device. */
export interface WebGpuExecutorInfo {
  /** The adapter, in words (`vendor / architecture / description`). */
  adapter: string;
  /** Device features the kernels may use. */
  features: string[];
  /** Bytes of weights on the device. */
  weightBytes: number;
  /** Bytes of the KV cache (every layer, K and V). */
  kvCacheBytes: number;
  /** Bytes of the activation arena, sized for the step budget. */
  arenaBytes: number;
  /**
   * Bytes of the device sampler: per-row parameters and results, and penalty lists sized for the
   * worst step (every sequence penalizing as many distinct tokens as `maxModelLen` allows, plus
   * its logit bias).
   */
  samplerBytes: number;
  /** Every device allocation together: what the executor holds at its peak, allocated once. */
  peakDeviceBytes: number;
}

let defaultDevice: (() => Promise<GpuDevice>) | undefined;

/**
 * Where {@link WebGpuExecutor.create} gets a device when given none: each entry point (Node, browser)
 * sets its own `requestGpuDevice`, so no Node-only import reaches the browser build.
 * @internal
 */
export function setDefaultGpuDevice(request: () => Promise<GpuDevice>): void {
  defaultDevice = request;
}

/** What {@link build} makes for the executor. */
/** One binding of a weight matrix: rows `[rowStart, rowStart + rows)`. */
interface WeightPart {
  buffer: GPUBuffer;
  rowStart: number;
  rows: number;
}

/** A weight matrix on the device: its shape and type, and its bindings. */
interface DeviceWeight {
  info: PackedWeight;
  parts: WeightPart[];
}

interface ExecutorParts {
  config: ModelConfig;
  kvCacheDtype: 'f32' | 'f16';
  kvCache: KvCacheShape;
  info: WebGpuExecutorInfo;
  device: GPUDevice;
  ownsDevice: boolean;
  buffers: GPUBuffer[];
  ops: Op[];
  stepUniform: GPUBuffer;
  stepData: GPUBuffer;
  stepDataWords: number;
  tileTokens: number;
  logits: GPUBuffer;
  readback: GPUBuffer;
  sampler: GpuSampler;
  keys: GPUBuffer[];
  values: GPUBuffer[];
  limits: { tokens: number; sequences: number; modelLen: number };
}

/** GPU time of one kernel over a step, from timestamp queries. */
export interface KernelTiming {
  /**
   * The kernel, by the graph node it starts from (`attn_q·k·v`, `attn`, `ffn_gate·up`, `output`,
   * …), summed over layers.
   */
  kernel: string;
  /** Dispatches in the step. */
  dispatches: number;
  /** Milliseconds of GPU time, summed. */
  ms: number;
}

/** A dispatch recorded once at creation and replayed every step. */
interface Op {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /**
   * Workgroup counts for a batch of `tokens` tokens, `samples` sampled rows and `tiles` attention
   * tiles (runs of up to `tileTokens` tokens of one sequence).
   */
  grid: (tokens: number, samples: number, tiles: number) => [number, number, number];
}

const USAGE_STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

/**
 * Runs Llama-family models (llama, qwen2, mistral) on a WebGPU device. Weights are uploaded once
 * and stay in their file types (decoded inside the matmul kernels); K/V live in paged per-layer
 * buffers addressed through block tables; one step is one command encoder with one compute pass of
 * cached pipelines and bind groups; device memory (weights, KV pool, one activation arena sized for
 * the step budget) is allocated at creation and never grows.
 */
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
  private readonly keys: GPUBuffer[];
  private readonly values: GPUBuffer[];
  private readonly hostKeys: Uint8Array[];
  private readonly hostValues: Uint8Array[];
  private readonly limits: { tokens: number; sequences: number; modelLen: number };
  private readonly blockBytes: number;
  private blockScratch: GPUBuffer | undefined;
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
    this.keys = parts.keys;
    this.values = parts.values;
    this.limits = parts.limits;
    const kvDim = parts.config.numKvHeads * parts.config.headDim;
    this.blockBytes = parts.kvCache.blockSize * kvDim * (parts.kvCacheDtype === 'f16' ? 2 : 4);
    const hostBytes = parts.kvCache.numHostBlocks * this.blockBytes;
    this.hostKeys = parts.keys.map(() => new Uint8Array(hostBytes));
    this.hostValues = parts.keys.map(() => new Uint8Array(hostBytes));
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
  static async create(
    model: { config: ModelConfig; weights: ModelWeights; name?: string },
    options: WebGpuExecutorOptions,
  ): Promise<WebGpuExecutor> {
    const { config: c } = model;
    const blockSize = options.blockSize ?? 16;
    const numHostBlocks = options.numHostBlocks ?? 0;
    if (!(Number.isInteger(options.numBlocks) && options.numBlocks > 0)) {
      throw new RangeError(`numBlocks must be a positive integer, got ${options.numBlocks}`);
    }
    if (!(Number.isInteger(blockSize) && blockSize > 0)) {
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    }
    const limits = {
      tokens: options.maxTokensPerStep ?? 2048,
      sequences: options.maxSequencesPerStep ?? 256,
      modelLen: options.maxModelLen ?? Math.min(c.contextLength, 8192),
    };
    for (const [name, value] of Object.entries(limits)) {
      if (!(Number.isInteger(value) && value > 0)) {
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
      }
    }
    if (c.headDim % 4 !== 0 || c.hiddenSize % 32 !== 0) {
      throw new GpuExecutorError(
        `head size ${c.headDim} and hidden size ${c.hiddenSize}: the WebGPU kernels need multiples of 4 and 32`,
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    if (!options.gpu && !defaultDevice) {
      throw new TypeError(
        'WebGpuExecutor.create: pass options.gpu (no default device source is set)',
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

  /** Records every op in its own timed pass; the returned function reads the times back. */
  private encodeTimedPasses(
    encoder: GPUCommandEncoder,
    T: number,
    S: number,
    tiles: number,
    sample: ((pass: GPUComputePassEncoder) => void) | undefined,
  ): () => Promise<KernelTiming[]> {
    const count = (this.ops.length + 1) * 2;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count });
    const resolve = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const ran: string[] = [];
    for (const op of this.ops) {
      const [x, y, z] = op.grid(T, S, tiles);
      if (x === 0 || y === 0 || z === 0) continue;
      const i = ran.length;
      const pass = encoder.beginComputePass({
        label: op.label,
        timestampWrites: {
          querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      pass.setPipeline(op.pipeline);
      pass.setBindGroup(0, op.bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
      ran.push(op.label);
    }
    if (sample) {
      const i = ran.length;
      const pass = encoder.beginComputePass({
        label: 'sampling',
        timestampWrites: {
          querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      sample(pass);
      pass.end();
      ran.push('sampling');
    }
    encoder.resolveQuerySet(querySet, 0, ran.length * 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, ran.length * 16);
    return async () => {
      await read.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      for (const b of [read, resolve]) b.destroy();
      querySet.destroy();
      const byKernel = new Map<string, KernelTiming>();
      ran.forEach((label, i) => {
        const kernel = label.replace(/^blk\.\d+\./, '');
        const ns = Number((stamps[2 * i + 1] as bigint) - (stamps[2 * i] as bigint));
        const entry = byKernel.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
        entry.dispatches++;
        entry.ms += ns / 1e6;
        byKernel.set(kernel, entry);
      });
      return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
    };
  }

  /**
   * One step: `'logits'` reads back the sampled rows' logits; `'sample'` samples them on the
   * device and reads back token ids (and log-probabilities); `'profile'` samples with every
   * kernel in its own timed pass.
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
    const { data, tiles } = this.packStep(batch, sampled);
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
    const swapOutBuffer = this.encodeBlockMoves(encoder, batch);
    const sample = sampleOnDevice
      ? (pass: GPUComputePassEncoder) => this.sampler.encode(pass, this.logits)
      : undefined;
    const timed =
      mode === 'profile' ? this.encodeTimedPasses(encoder, T, S, tiles, sample) : undefined;
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
      if (swapOutBuffer) await this.storeSwappedOut(batch, swapOutBuffer);
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

  /** The step data: token ids, positions, slots, block-table offsets, sampled rows, block tables. */
  /**
   * The step data: token ids, positions, slots, each token's block-table offset, sampled rows,
   * attention tiles (runs of up to `tileTokens` tokens of one sequence: first token << 8 | count),
   * then the block tables.
   */
  private packStep(
    batch: ForwardBatch,
    sampled: ForwardBatch['sequences'],
  ): { data: Uint32Array<ArrayBuffer>; tiles: number } {
    const T = batch.tokenIds.length;
    const bs = this.kvCache.blockSize;
    const per = this.tileTokens;
    let tableWords = 0;
    let tiles = 0;
    for (const s of batch.sequences) {
      tableWords += Math.ceil((s.start + s.numTokens) / bs);
      tiles += Math.ceil(s.numTokens / per);
    }
    const data = new Uint32Array(4 * T + sampled.length + tiles + tableWords);
    if (data.length > this.stepDataWords) {
      throw new ExecutorError(
        `the batch's block tables (${tableWords} entries) are over this executor's budget`,
        'EXECUTOR_BAD_BATCH',
      );
    }
    data.set(batch.tokenIds, 0);
    data.set(batch.positions, T);
    data.set(batch.slotMapping, 2 * T);
    let tile = 4 * T + sampled.length;
    let table = tile + tiles;
    let row = 0;
    for (const s of batch.sequences) {
      const blocks = Math.ceil((s.start + s.numTokens) / bs);
      for (let b = 0; b < blocks; b++) data[table + b] = s.blockTable[b] as number;
      data.fill(table, 3 * T + s.offset, 3 * T + s.offset + s.numTokens);
      if (s.sample) data[4 * T + row++] = s.offset + s.numTokens - 1;
      for (let t = 0; t < s.numTokens; t += per) {
        data[tile++] = ((s.offset + t) << 8) | Math.min(per, s.numTokens - t);
      }
      table += blocks;
    }
    return { data, tiles };
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

  /**
   * Records the batch's swaps and block copies ahead of the forward pass, in the reference's
   * order: swap-out, swap-in, copy. Swapped-out blocks go to a mappable buffer, returned.
   */
  private encodeBlockMoves(encoder: GPUCommandEncoder, batch: ForwardBatch): GPUBuffer | undefined {
    const bytes = this.blockBytes;
    const layers = this.keys.length;
    let swapOut: GPUBuffer | undefined;
    const outs = batch.swapOut ?? [];
    if (outs.length > 0) {
      swapOut = this.device.createBuffer({
        size: outs.length * 2 * layers * bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      outs.forEach(([dev], i) => {
        for (let l = 0; l < layers; l++) {
          const at = (i * layers + l) * 2 * bytes;
          encoder.copyBufferToBuffer(this.keys[l]!, dev * bytes, swapOut!, at, bytes);
          encoder.copyBufferToBuffer(this.values[l]!, dev * bytes, swapOut!, at + bytes, bytes);
        }
      });
    }
    const ins = batch.swapIn ?? [];
    const copies = batch.copies ?? [];
    if (ins.length > 0 || copies.length > 0) {
      this.blockScratch ??= this.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    }
    if (ins.length > 0) {
      const upload = this.device.createBuffer({
        size: ins.length * 2 * layers * bytes,
        usage: GPUBufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
      const view = new Uint8Array(upload.getMappedRange());
      ins.forEach(([host], i) => {
        for (let l = 0; l < layers; l++) {
          const at = (i * layers + l) * 2 * bytes;
          view.set(this.hostKeys[l]!.subarray(host * bytes, (host + 1) * bytes), at);
          view.set(this.hostValues[l]!.subarray(host * bytes, (host + 1) * bytes), at + bytes);
        }
      });
      upload.unmap();
      ins.forEach(([, dev], i) => {
        for (let l = 0; l < layers; l++) {
          const at = (i * layers + l) * 2 * bytes;
          encoder.copyBufferToBuffer(upload, at, this.keys[l]!, dev * bytes, bytes);
          encoder.copyBufferToBuffer(upload, at + bytes, this.values[l]!, dev * bytes, bytes);
        }
      });
      // Freed once the queue is done with it.
      void this.device.queue.onSubmittedWorkDone().then(() => upload.destroy());
    }
    const scratch = this.blockScratch!;
    for (const [src, dst] of copies) {
      for (const cache of [this.keys, this.values]) {
        for (const buffer of cache) {
          encoder.copyBufferToBuffer(buffer, src * bytes, scratch, 0, bytes);
          encoder.copyBufferToBuffer(scratch, 0, buffer, dst * bytes, bytes);
        }
      }
    }
    return swapOut;
  }

  private async storeSwappedOut(batch: ForwardBatch, buffer: GPUBuffer): Promise<void> {
    await buffer.mapAsync(GPUMapMode.READ);
    const all = new Uint8Array(buffer.getMappedRange());
    const bytes = this.blockBytes;
    const layers = this.keys.length;
    (batch.swapOut ?? []).forEach(([, host], i) => {
      for (let l = 0; l < layers; l++) {
        const at = (i * layers + l) * 2 * bytes;
        this.hostKeys[l]!.set(all.subarray(at, at + bytes), host * bytes);
        this.hostValues[l]!.set(all.subarray(at + bytes, at + 2 * bytes), host * bytes);
      }
    });
    buffer.unmap();
    buffer.destroy();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.running;
    for (const b of this.buffers) b.destroy();
    this.sampler.destroy();
    this.blockScratch?.destroy();
    this.logitsStaging?.destroy();
    if (this.ownsDevice) this.device.destroy();
  }
}

/** Everything {@link WebGpuExecutor.create} allocates and compiles, in one place. */
async function build(
  model: { config: ModelConfig; weights: ModelWeights; name?: string },
  gpu: GpuDevice,
  options: WebGpuExecutorOptions & { blockSize: number; numHostBlocks: number },
  limits: { tokens: number; sequences: number; modelLen: number },
  ownsDevice: boolean,
): Promise<ExecutorParts> {
  const { config: c, weights } = model;
  const { device } = gpu;
  const maxBinding = gpu.limits.maxStorageBufferBindingSize;
  const buffers: GPUBuffer[] = [];
  const sizes = { weights: 0, kv: 0, arena: 0 };
  device.pushErrorScope('out-of-memory');
  const alloc = (label: string, size: number, kind: keyof typeof sizes, usage = USAGE_STORAGE) => {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > maxBinding && usage === USAGE_STORAGE) {
      throw new GpuExecutorError(
        `${label} needs ${bytes} bytes, over this device's storage binding limit of ${maxBinding}` +
          (kind === 'arena'
            ? ' (lower maxTokensPerStep)'
            : kind === 'kv'
              ? ' (use fewer KV blocks)'
              : ''),
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    const buffer = device.createBuffer({ label, size: bytes, usage });
    buffers.push(buffer);
    sizes[kind] += bytes;
    return buffer;
  };
  const upload = (label: string, data: Float32Array | Uint32Array, kind: keyof typeof sizes) => {
    const buffer = alloc(label, data.byteLength, kind);
    device.queue.writeBuffer(buffer, 0, data as Uint32Array<ArrayBuffer>);
    return buffer;
  };
  /**
   * Uploads a packed matrix as one binding, or, when it is over the binding limit, as row ranges
   * of at most `maxWeightBinding` bytes each (a large vocabulary's embedding or output).
   */
  const maxWeightBinding = Math.min(options.maxWeightBindingBytes ?? maxBinding, maxBinding);
  const uploadWeight = (label: string, info: PackedWeight): DeviceWeight => {
    const rowBytes = info.rowWords * 4;
    const perPart = Math.floor(maxWeightBinding / rowBytes);
    if (perPart < 1) {
      throw new GpuExecutorError(
        `${label}: one row is ${rowBytes} bytes, over this device's storage binding limit of ${maxWeightBinding}`,
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    const parts: WeightPart[] = [];
    for (let rowStart = 0; rowStart < info.rows; rowStart += perPart) {
      const rows = Math.min(perPart, info.rows - rowStart);
      const words = info.words.subarray(
        rowStart * info.rowWords,
        (rowStart + rows) * info.rowWords,
      );
      const name = rows === info.rows ? label : `${label} rows ${rowStart}..${rowStart + rows - 1}`;
      parts.push({ buffer: upload(name, words, 'weights'), rowStart, rows });
    }
    // Uploaded: keep only the shape.
    return { info: { ...info, words: new Uint32Array(0) }, parts };
  };
  const packed = new Map<WeightMatrix, DeviceWeight>();
  const weight = (w: WeightMatrix) => {
    let entry = packed.get(w);
    if (!entry) {
      entry = uploadWeight(w.name, packWeight(w));
      packed.set(w, entry);
    }
    return entry;
  };
  /** Matrices of one type and width as one, their rows one after another (Q, K and V). */
  const fused = (label: string, ws: readonly WeightMatrix[]) => {
    const parts = ws.map(packWeight);
    const words = new Uint32Array(parts.reduce((n, p) => n + p.words.length, 0));
    let at = 0;
    for (const part of parts) {
      words.set(part.words, at);
      at += part.words.length;
    }
    const first = parts[0]!;
    return uploadWeight(label, { ...first, rows: parts.reduce((n, p) => n + p.rows, 0), words });
  };

  const kvDim = c.numKvHeads * c.headDim;
  const Tm = limits.tokens;
  const Sm = limits.sequences;
  const V = c.vocabSize;
  const tableWords = Sm * Math.ceil(limits.modelLen / options.blockSize);
  const stepDataWords = 5 * Tm + Sm + tableWords;
  const stepUniform = alloc('step', STEP_UNIFORM_WORDS * 4, 'arena', 0x40 | 0x08); // UNIFORM | COPY_DST
  const stepData = alloc('step data', stepDataWords * 4, 'arena');
  const inv = alloc('rms', Tm * 4, 'arena');
  const kvCacheDtype = options.kvCacheDtype ?? 'f32';
  if (kvCacheDtype === 'f16' && !gpu.features.has('shader-f16')) {
    throw new GpuExecutorError(
      "kvCacheDtype 'f16' needs the shader-f16 feature, which this adapter lacks; use 'f32'",
      'GPU_UNSUPPORTED_MODEL',
    );
  }
  const graph = buildModelGraph(c, weights, { maxModelLen: limits.modelLen });
  const slots = options.numBlocks * options.blockSize;
  const slotBytes = kvDim * (kvCacheDtype === 'f16' ? 2 : 4);
  const keys: GPUBuffer[] = [];
  const values: GPUBuffer[] = [];
  for (let l = 0; l < graph.kvLayers; l++) {
    keys.push(alloc(`layer ${l} keys`, slots * slotBytes, 'kv'));
    values.push(alloc(`layer ${l} values`, slots * slotBytes, 'kv'));
  }

  // Pipelines: one per distinct shader, compiled in parallel.
  const pipelines = new Map<string, Promise<GPUComputePipeline>>();
  const pipeline = (code: string, label: string) => {
    let p = pipelines.get(code);
    if (!p) {
      p = device
        .createComputePipelineAsync({
          label,
          layout: device.createPipelineLayout({
            bindGroupLayouts: [
              device.createBindGroupLayout({ label, entries: bindGroupLayoutEntries(code) }),
            ],
          }),
          compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' },
        })
        .catch((cause: unknown) => {
          throw new GpuExecutorError(
            `the ${label} kernel did not compile: ${(cause as Error).message}`,
            'GPU_DEVICE_ERROR',
            { cause },
          );
        });
      pipelines.set(code, p);
    }
    return p;
  };
  const pending: Array<Promise<Op>> = [];
  const base = { 0: stepUniform, 1: stepData };
  const op = (label: string, code: string, bindings: Record<number, GPUBuffer>, grid: Grid) => {
    const all: Record<number, GPUBuffer> = { ...base, ...bindings };
    pending.push(
      pipeline(code, label).then((p) => ({
        label,
        pipeline: p,
        grid,
        bindGroup: device.createBindGroup({
          label,
          layout: p.getBindGroupLayout(0),
          entries: Object.entries(all).map(([binding, buffer]) => ({
            binding: Number(binding),
            resource: { buffer },
          })),
        }),
      })),
    );
  };
  const { rows: R, tokens: TT } = MATMUL_TILE;
  // Two kernels per matmul; each step runs the one its batch size calls for.
  // A matrix split over bindings runs as one matmul per row range (a second weight, the up
  // projection, is split at the same rows).
  const matmul: LoweringTarget['matmul'] = (label, ws, variant, bindings) => {
    const w = ws.length === 3 ? fused(label, ws) : weight(ws[0]!);
    const second = variant.dual ? weight(ws[1]!) : undefined;
    const whole: MatmulVariant = { ...variant, dual: second?.info };
    w.parts.forEach((part, i) => {
      const all: Record<number, GPUBuffer> = { ...bindings, 4: part.buffer };
      if (second) all[5] = second.parts[i]!.buffer;
      const v: MatmulVariant =
        w.parts.length === 1
          ? whole
          : { ...whole, n: part.rows, rowOffset: part.rowStart, outRows: whole.n };
      const tiled = !v.gather;
      op(label, matmulShader(w.info, v), all, (T, S) =>
        tiled && T >= TILED_MIN_TOKENS
          ? [0, 0, 0]
          : [Math.ceil(v.n / R), Math.ceil((v.gather ? S : T) / TT), 1],
      );
      if (tiled) {
        const rows = v.dual ? 32 : 64;
        op(label, tiledMatmulShader(w.info, v), all, (T) =>
          T >= TILED_MIN_TOKENS ? [Math.ceil(v.n / rows), Math.ceil(T / 32), 1] : [0, 0, 0],
        );
      }
    });
  };
  const valueBuffers = new Map<string, GPUBuffer>();
  const vectors = new Map<Float32Array, GPUBuffer>();
  const ropeTables = new Map<RopeSpec, GPUBuffer>();
  const tileTokens = new Map<string, number>();
  const target: LoweringTarget = {
    value(name) {
      let buffer = valueBuffers.get(name);
      if (!buffer) {
        const v = graph.values[name]!;
        buffer = alloc(name, (v.rows === 'tokens' ? Tm : Sm) * v.width * 4, 'arena');
        valueBuffers.set(name, buffer);
      }
      return buffer;
    },
    inv,
    vector(label, data) {
      let buffer = vectors.get(data);
      if (!buffer) {
        buffer = upload(label, data, 'weights');
        vectors.set(data, buffer);
      }
      return buffer;
    },
    ropeTable(rope) {
      let buffer = ropeTables.get(rope);
      if (!buffer) {
        buffer = upload('rope table', ropeTable(rope, limits.modelLen), 'arena');
        ropeTables.set(rope, buffer);
      }
      return buffer;
    },
    keys,
    values,
    kvType: kvCacheDtype,
    blockSize: options.blockSize,
    tileTokens(shape) {
      const key = JSON.stringify(shape);
      let n = tileTokens.get(key);
      if (n === undefined) {
        n = attentionTileTokens(shape, gpu.limits.maxComputeWorkgroupStorageSize);
        tileTokens.set(key, n);
      }
      return n;
    },
    op,
    matmul,
    embed(label, w, scale, out, width) {
      for (const part of weight(w).parts) {
        op(
          label,
          embedShader(weight(w).info, width, part, scale),
          { 2: out, 3: part.buffer },
          (T) => [Math.ceil(width / 4 / 64), T, 1],
        );
      }
    },
  };
  try {
    lowerGraph(graph, target);
  } catch (error) {
    await device.popErrorScope();
    for (const b of buffers) b.destroy();
    throw error;
  }
  const logits = target.value(graph.logits);
  const oom = await device.popErrorScope();
  if (oom) {
    for (const b of buffers) b.destroy();
    throw new GpuExecutorError(
      `out of device memory uploading ${model.name ?? 'the model'}: ${oom.message}`,
      'GPU_OUT_OF_MEMORY',
    );
  }
  const ops = await Promise.all(pending);
  // Tiles of the step data are packed for the largest tile any attention kernel takes.
  const maxTileTokens = Math.max(1, ...tileTokens.values());
  // A row penalizes at most its distinct tokens and its logit bias, fewer than
  // min(V, maxModelLen + MAX_LOGIT_BIAS): sized for the worst step up front, the lists never grow.
  device.pushErrorScope('out-of-memory');
  const sampler = new GpuSampler(device, {
    vocabSize: V,
    maxRows: Sm,
    initialPenaltyEntries: Sm * Math.min(V, limits.modelLen + MAX_LOGIT_BIAS),
  });
  // The logits binding (one uniform) is made now rather than in the first step.
  sampler.bindLogits(logits);
  // Sampled token ids and log-probabilities come back through this; logits rows (`forward`) through
  // a buffer made on first use.
  const readback = alloc('readback', sampler.resultBytes(Sm), 'arena', 0x01 | 0x08); // MAP_READ | COPY_DST
  const samplerOom = await device.popErrorScope();
  if (samplerOom) {
    sampler.destroy();
    for (const b of buffers) b.destroy();
    throw new GpuExecutorError(
      `out of device memory allocating the sampler: ${samplerOom.message}`,
      'GPU_OUT_OF_MEMORY',
    );
  }

  const { vendor, architecture, description } = gpu.adapterInfo;
  const samplerBytes = sampler.deviceBytes;
  const total = sizes.weights + sizes.kv + sizes.arena + samplerBytes;
  return {
    config: c,
    kvCacheDtype,
    kvCache: {
      numBlocks: options.numBlocks,
      numHostBlocks: options.numHostBlocks,
      blockSize: options.blockSize,
    },
    info: {
      adapter: [vendor, architecture, description].filter(Boolean).join(' / ') || 'unknown',
      features: [...gpu.features].sort(),
      weightBytes: sizes.weights,
      kvCacheBytes: sizes.kv,
      arenaBytes: sizes.arena,
      samplerBytes,
      peakDeviceBytes: total,
    },
    device,
    ownsDevice,
    buffers,
    ops,
    stepUniform,
    stepData,
    stepDataWords,
    tileTokens: maxTileTokens,
    logits,
    readback,
    sampler,
    keys,
    values,
    limits,
  };
}

/**
 * A rope's cos/sin table, `[position][pair]` for `positions` positions, both scaled by its
 * `attnFactor`.
 */
function ropeTable(rope: RopeSpec, positions: number): Float32Array {
  const half = rope.rotaryDim / 2;
  const table = new Float32Array(Math.max(1, positions * half) * 2);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * (rope.inverseFrequencies[i] as number);
      table[(p * half + i) * 2] = Math.cos(angle) * rope.attnFactor;
      table[(p * half + i) * 2 + 1] = Math.sin(angle) * rope.attnFactor;
    }
  }
  return table;
}

/**
 * The bind group layout a shader declares (`@group(0) @binding(n) var<uniform | storage, …>`), so
 * that every binding a kernel declares is in its layout whether or not this variant reads it.
 */
function bindGroupLayoutEntries(code: string): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (const m of code.matchAll(
    /@binding\((\d+)\)\s+var<(uniform|storage,\s*read_write|storage,\s*read)>/g,
  )) {
    const type: GPUBufferBindingType =
      m[2] === 'uniform'
        ? 'uniform'
        : m[2]!.endsWith('read_write')
          ? 'storage'
          : 'read-only-storage';
    entries.push({ binding: Number(m[1]), visibility: 4 /* COMPUTE */, buffer: { type } });
  }
  return entries;
}
