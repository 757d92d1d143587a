import { KvCacheError } from './errors.js';

/**
 * A pool of physical KV-cache blocks, numbered `0..numBlocks-1`, with a free list and a reference
 * count per block. A block is free exactly when its reference count is zero.
 *
 * Allocation and release are O(1): the free list is a stack in an `Int32Array`, so a pool of a
 * million blocks costs 8 MB and no per-block objects.
 */
export class BlockPool {
  /** Number of physical blocks in the pool. */
  readonly numBlocks: number;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  private readonly refCounts: Uint32Array;

  /**
   * @param numBlocks number of blocks, a positive integer
   * @throws KvCacheError `KV_INVALID_CONFIG` when `numBlocks` is not a positive integer
   */
  constructor(numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1 || numBlocks > 0x7fffffff) {
      throw new KvCacheError(
        `numBlocks must be a positive integer, got ${String(numBlocks)}`,
        'KV_INVALID_CONFIG',
      );
    }
    this.numBlocks = numBlocks;
    this.freeStack = new Int32Array(numBlocks);
    // Lowest ids on top, so a fresh pool hands out 0, 1, 2, … (easy to read in block tables).
    for (let i = 0; i < numBlocks; i++) this.freeStack[i] = numBlocks - 1 - i;
    this.freeTop = numBlocks;
    this.refCounts = new Uint32Array(numBlocks);
  }

  /** Number of blocks with a reference count of zero. */
  get numFreeBlocks(): number {
    return this.freeTop;
  }

  /** Fraction of blocks in use, in [0, 1]. */
  get usage(): number {
    return 1 - this.freeTop / this.numBlocks;
  }

  /**
   * Takes a free block and sets its reference count to 1.
   * @returns the block id
   * @throws KvCacheError `KV_OUT_OF_BLOCKS` when no block is free
   */
  allocate(): number {
    if (this.freeTop === 0) {
      throw new KvCacheError(
        `no free KV block: all ${this.numBlocks} blocks are in use`,
        'KV_OUT_OF_BLOCKS',
      );
    }
    const id = this.freeStack[--this.freeTop] as number;
    this.refCounts[id] = 1;
    return id;
  }

  /**
   * Adds a reference to an allocated block (a fork or a prefix-cache hit shares it).
   * @returns the new reference count
   * @throws KvCacheError `KV_UNKNOWN_BLOCK` for an id outside the pool or a free block
   */
  retain(id: number): number {
    this.assertAllocated(id, 'retain');
    return ++(this.refCounts as Uint32Array)[id]!;
  }

  /**
   * Drops a reference; at zero the block returns to the free list.
   * @returns the remaining reference count
   * @throws KvCacheError `KV_DOUBLE_FREE` for a block that is already free,
   *   `KV_UNKNOWN_BLOCK` for an id outside the pool
   */
  release(id: number): number {
    this.assertInPool(id, 'release');
    const count = this.refCounts[id] as number;
    if (count === 0) {
      throw new KvCacheError(`block ${id} released while already free`, 'KV_DOUBLE_FREE');
    }
    this.refCounts[id] = count - 1;
    if (count === 1) this.freeStack[this.freeTop++] = id;
    return count - 1;
  }

  /** The reference count of a block (0 when free). */
  refCount(id: number): number {
    this.assertInPool(id, 'refCount');
    return this.refCounts[id] as number;
  }

  private assertInPool(id: number, op: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.numBlocks) {
      throw new KvCacheError(
        `${op}: block id ${String(id)} is outside the pool of ${this.numBlocks} blocks`,
        'KV_UNKNOWN_BLOCK',
      );
    }
  }

  private assertAllocated(id: number, op: string): void {
    this.assertInPool(id, op);
    if (this.refCounts[id] === 0) {
      throw new KvCacheError(`${op}: block ${id} is not allocated`, 'KV_UNKNOWN_BLOCK');
    }
  }
}
