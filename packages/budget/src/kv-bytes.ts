import { assertPositiveInteger, assertSafeBytes } from './assert.js';

/**
 * Element type of the KV cache, named as llama.cpp names its cache types (`--cache-type-k`).
 *
 * - `'f32'`: 4 bytes per element.
 * - `'f16'`: 2 bytes per element (the default everywhere, and the source's FP16).
 * - `'q8_0'`: blocks of 32 elements in 34 bytes, ggml's `block_q8_0`.
 */
export type KvDtype = 'f32' | 'f16' | 'q8_0';

/**
 * Storage of one KV dtype: `blockBytes` bytes hold `blockElements` elements.
 *
 * `block_q8_0` (ggml-common.h), 34 bytes:
 *
 * | offset | size | field                                  |
 * | ------ | ---- | -------------------------------------- |
 * | 0      | 2    | `d`: fp16 scale                        |
 * | 2      | 32   | `qs[32]`: int8 quants, value = d × q   |
 */
const KV_DTYPE_STORAGE: Readonly<
  Record<KvDtype, { readonly blockElements: number; readonly blockBytes: number }>
> = {
  f32: { blockElements: 1, blockBytes: 4 },
  f16: { blockElements: 1, blockBytes: 2 },
  q8_0: { blockElements: 32, blockBytes: 34 },
};

/**
 * The attention shape that sizes a KV cache.
 */
export interface AttentionShape {
  /** Transformer layers (llama.cpp `block_count`, HF `num_hidden_layers`). Integer ≥ 1. */
  readonly numLayers: number;
  /** Query heads (HF `num_attention_heads`). Integer ≥ 1. */
  readonly numHeads: number;
  /**
   * Key/value heads (HF `num_key_value_heads`): fewer than `numHeads` under grouped-query
   * attention, 1 under multi-query attention. Integer ≥ 1 that divides `numHeads`; default
   * `numHeads` (plain multi-head attention).
   */
  readonly numKvHeads?: number;
  /** Dimension of one head (usually `hidden_size / num_attention_heads`). Integer ≥ 1. */
  readonly headDim: number;
}

/**
 * Checks `kvDtype` at run time, for callers that are not type-checked (JSON, CLI flags).
 * @internal
 */
export function assertKvDtype(kvDtype: string): asserts kvDtype is KvDtype {
  if (!Object.hasOwn(KV_DTYPE_STORAGE, kvDtype)) {
    const known = Object.keys(KV_DTYPE_STORAGE).join("', '");
    throw new RangeError(`kvDtype must be one of '${known}', got ${String(kvDtype)}`);
  }
}

/**
 * Bytes of KV cache one token takes across all layers:
 * `2 (K and V) × numLayers × bytes(numKvHeads × headDim elements of kvDtype)`.
 *
 * For `'q8_0'` each layer's K row and V row of `numKvHeads × headDim` elements is stored in whole
 * 32-element blocks of 34 bytes, rounded up (llama.cpp itself needs a multiple of 32; rounding up
 * keeps the figure conservative for other shapes).
 *
 * @example
 * ```ts
 * const llama3_8b = { numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128 };
 * kvBytesPerToken(llama3_8b); // 131072 (f16, GQA)
 * kvBytesPerToken({ ...llama3_8b, numKvHeads: 32 }); // 524288 (f16, no GQA)
 * kvBytesPerToken(llama3_8b, 'q8_0'); // 69632
 * ```
 *
 * @param shape layers, heads, KV heads and head dimension of the model
 * @param kvDtype element type of the cache (default `'f16'`)
 * @returns bytes per token, an integer
 * @throws RangeError naming the field when a shape field is not an integer ≥ 1, when `numKvHeads`
 *   does not divide `numHeads`, when `kvDtype` is unknown, or when the result passes
 *   `Number.MAX_SAFE_INTEGER`
 */
export function kvBytesPerToken(shape: AttentionShape, kvDtype: KvDtype = 'f16'): number {
  const { numLayers, numHeads, headDim } = shape;
  const numKvHeads = shape.numKvHeads ?? numHeads;
  assertPositiveInteger('numLayers', numLayers);
  assertPositiveInteger('numHeads', numHeads);
  assertPositiveInteger('numKvHeads', numKvHeads);
  assertPositiveInteger('headDim', headDim);
  if (numKvHeads > numHeads || numHeads % numKvHeads !== 0) {
    throw new RangeError(
      `numKvHeads must divide numHeads (${String(numHeads)}), got ${String(numKvHeads)}`,
    );
  }
  assertKvDtype(kvDtype);
  const { blockElements, blockBytes } = KV_DTYPE_STORAGE[kvDtype];
  const rowBytes = Math.ceil((numKvHeads * headDim) / blockElements) * blockBytes;
  const bytes = 2 * numLayers * rowBytes;
  assertSafeBytes('numLayers × numKvHeads × headDim', bytes);
  return bytes;
}
