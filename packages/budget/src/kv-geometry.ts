/** Tokens per KV block where nobody says otherwise (vLLM's default). */
export const DEFAULT_BLOCK_SIZE = 16;

/**
 * The shape of a paged KV cache, in blocks: what the block manager, the scheduler and every
 * executor agree on. Slot `s` of the device pool is offset `s % blockSize` of block
 * `s / blockSize`.
 */
export interface KvGeometry {
  /** Blocks on the device. */
  numBlocks: number;
  /** Tokens per block. */
  blockSize: number;
  /** Blocks in host memory for swapping; 0 when there is no swapping. */
  numHostBlocks: number;
}

/** A KV geometry with a field out of range; `field` names it. */
export class KvGeometryError extends RangeError {
  override readonly name = 'KvGeometryError';
  readonly code = 'KV_GEOMETRY_INVALID';
  constructor(
    readonly field: keyof KvGeometry,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * A checked {@link KvGeometry}, with the defaults filled in: `blockSize` {@link DEFAULT_BLOCK_SIZE},
 * `numHostBlocks` 0.
 * @throws KvGeometryError naming the field that is not a positive integer (≥ 0 for host blocks)
 */
export function kvGeometry(options: {
  numBlocks: number;
  blockSize?: number;
  numHostBlocks?: number;
}): KvGeometry {
  const { numBlocks, blockSize = DEFAULT_BLOCK_SIZE, numHostBlocks = 0 } = options;
  if (!(Number.isInteger(numBlocks) && numBlocks > 0)) {
    throw new KvGeometryError('numBlocks', `must be a positive integer, got ${numBlocks}`);
  }
  if (!(Number.isInteger(blockSize) && blockSize > 0)) {
    throw new KvGeometryError('blockSize', `must be a positive integer, got ${blockSize}`);
  }
  if (!(Number.isInteger(numHostBlocks) && numHostBlocks >= 0)) {
    throw new KvGeometryError('numHostBlocks', `must be an integer ≥ 0, got ${numHostBlocks}`);
  }
  return { numBlocks, blockSize, numHostBlocks };
}
