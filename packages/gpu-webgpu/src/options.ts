// What WebGpuExecutor.create takes, and what it reports.
import type { GpuDevice } from './device.js';

/** Options of `WebGpuExecutor.create`. */
export interface WebGpuExecutorOptions {
  /** Device KV blocks. */
  numBlocks: number;
  /** Tokens per block. Default `DEFAULT_BLOCK_SIZE` (16). */
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
