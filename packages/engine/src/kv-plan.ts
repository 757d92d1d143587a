import { type KvDtype, kvBytesPerToken } from '@x/budget';
import type { ModelConfig } from '@x/model';

/** How many KV blocks the engine holds, and why. */
export interface KvCachePlan {
  numBlocks: number;
  blockSize: number;
  /** Bytes of one block over all layers, K and V. */
  blockBytes: number;
  /** `config`: as asked; `memory`: fewer, as many as the memory allows. */
  sizedBy: 'config' | 'memory';
  /** A sentence for the log when the plan differs from what was asked. */
  note: string | undefined;
}

/**
 * Sizes the KV pool: `maxNumBlocks` when they fit in `memoryBytes`, else as many as fit (by
 * `@x/budget`'s bytes per token for the model's KV heads and `dtype`).
 * @returns undefined when not even one sequence of `maxModelLen` tokens fits
 */
export function planKvCache(
  model: ModelConfig,
  asked: { maxNumBlocks: number; blockSize: number },
  memoryBytes: number,
  dtype: KvDtype,
): KvCachePlan {
  const blockBytes = asked.blockSize * kvBytesPerToken(model, dtype);
  const fit = Math.floor(memoryBytes / blockBytes);
  if (fit >= asked.maxNumBlocks) {
    return {
      numBlocks: asked.maxNumBlocks,
      blockSize: asked.blockSize,
      blockBytes,
      sizedBy: 'config',
      note: undefined,
    };
  }
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return {
    numBlocks: fit,
    blockSize: asked.blockSize,
    blockBytes,
    sizedBy: 'memory',
    note:
      `maxNumBlocks ${asked.maxNumBlocks} asks for ${mib(asked.maxNumBlocks * blockBytes)} of ${dtype} KV cache ` +
      `but ${mib(memoryBytes)} is available: using ${fit} blocks (sized by @x/budget)`,
  };
}
