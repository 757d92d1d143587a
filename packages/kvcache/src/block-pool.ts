import { KvCacheError } from './errors.js';

const NONE = -1;

/**
 * A pool of physical KV-cache blocks, numbered `0..numBlocks-1`, with a reference count per block,
 * a free list, and an LRU list of evictable cached blocks.
 *
 * A block whose count drops to zero goes back to the free list, unless it holds a prefix-cache
 * entry ({@link BlockPool.setCached}): then it becomes evictable, still reusable by a later prompt
 * with the same prefix ({@link BlockPool.retain} revives it) until `allocate` needs it and evicts
 * the least recently freed one. Both free and evictable blocks count as free.
 *
 * Every operation is O(1) on typed arrays: no object per block.
 */
export class BlockPool {
  /** Number of physical blocks in the pool. */
  readonly numBlocks: number;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  private readonly refCounts: Uint32Array;
  private readonly cached: Uint8Array;
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private lruHead = NONE;
  private lruTail = NONE;
  private lruSize = 0;
  /** Called when an evictable cached block is taken for reuse, so its cache entry can go. */
  onEvict: ((id: number) => void) | undefined;

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
    this.cached = new Uint8Array(numBlocks);
    this.lruPrev = new Int32Array(numBlocks).fill(NONE);
    this.lruNext = new Int32Array(numBlocks).fill(NONE);
  }

  /** Blocks that `allocate` can hand out: free ones plus evictable cached ones. */
  get numFreeBlocks(): number {
    return this.freeTop + this.lruSize;
  }

  /** Cached blocks with no reference, reusable until evicted. */
  get numEvictableBlocks(): number {
    return this.lruSize;
  }

  /** Fraction of blocks referenced, in [0, 1]. */
  get usage(): number {
    return 1 - this.numFreeBlocks / this.numBlocks;
  }

  /**
   * Takes a block and sets its reference count to 1: a free one, else the least recently freed
   * evictable cached block (calling {@link BlockPool.onEvict} first).
   * @returns the block id
   * @throws KvCacheError `KV_OUT_OF_BLOCKS` when every block is referenced
   */
  allocate(): number {
    let id: number;
    if (this.freeTop > 0) {
      id = this.freeStack[--this.freeTop]!;
    } else if (this.lruHead !== NONE) {
      id = this.lruHead;
      this.unlink(id);
      this.cached[id] = 0;
      this.onEvict?.(id);
    } else {
      throw new KvCacheError(
        `no free KV block: all ${this.numBlocks} blocks are in use`,
        'KV_OUT_OF_BLOCKS',
      );
    }
    this.refCounts[id] = 1;
    return id;
  }

  /**
   * Adds a reference: to an allocated block (a fork, a prefix-cache hit shared with a running
   * sequence), or to an evictable cached block, which it revives.
   * @returns the new reference count
   * @throws KvCacheError `KV_UNKNOWN_BLOCK` for an id outside the pool or a free uncached block
   */
  retain(id: number): number {
    this.assertInPool(id, 'retain');
    const count = this.refCounts[id]!;
    if (count === 0) {
      if (!this.cached[id]) {
        throw new KvCacheError(`retain: block ${id} is not allocated`, 'KV_UNKNOWN_BLOCK');
      }
      this.unlink(id);
    }
    this.refCounts[id] = count + 1;
    return count + 1;
  }

  /**
   * Drops a reference; at zero the block becomes evictable if cached, else free.
   * @returns the remaining reference count
   * @throws KvCacheError `KV_DOUBLE_FREE` for a block with no reference,
   *   `KV_UNKNOWN_BLOCK` for an id outside the pool
   */
  release(id: number): number {
    this.assertInPool(id, 'release');
    const count = this.refCounts[id]!;
    if (count === 0) {
      throw new KvCacheError(`block ${id} released while already free`, 'KV_DOUBLE_FREE');
    }
    this.refCounts[id] = count - 1;
    if (count === 1) {
      if (this.cached[id]) this.append(id);
      else this.freeStack[this.freeTop++] = id;
    }
    return count - 1;
  }

  /** The reference count of a block (0 when free or evictable). */
  refCount(id: number): number {
    this.assertInPool(id, 'refCount');
    return this.refCounts[id]!;
  }

  /** Whether a block holds a prefix-cache entry. */
  isCached(id: number): boolean {
    this.assertInPool(id, 'isCached');
    return this.cached[id] === 1;
  }

  /**
   * Marks a referenced block as holding a prefix-cache entry: when its last reference goes, it
   * stays reusable instead of returning to the free list.
   * @throws KvCacheError `KV_UNKNOWN_BLOCK` for a block with no reference
   */
  setCached(id: number): void {
    this.assertInPool(id, 'setCached');
    if (this.refCounts[id] === 0) {
      throw new KvCacheError(`setCached: block ${id} is not allocated`, 'KV_UNKNOWN_BLOCK');
    }
    this.cached[id] = 1;
  }

  private append(id: number): void {
    this.lruPrev[id] = this.lruTail;
    this.lruNext[id] = NONE;
    if (this.lruTail === NONE) this.lruHead = id;
    else this.lruNext[this.lruTail] = id;
    this.lruTail = id;
    this.lruSize++;
  }

  private unlink(id: number): void {
    const prev = this.lruPrev[id]!;
    const next = this.lruNext[id]!;
    if (prev === NONE) this.lruHead = next;
    else this.lruNext[prev] = next;
    if (next === NONE) this.lruTail = prev;
    else this.lruPrev[next] = prev;
    this.lruPrev[id] = NONE;
    this.lruNext[id] = NONE;
    this.lruSize--;
  }

  private assertInPool(id: number, op: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.numBlocks) {
      throw new KvCacheError(
        `${op}: block id ${String(id)} is outside the pool of ${this.numBlocks} blocks`,
        'KV_UNKNOWN_BLOCK',
      );
    }
  }
}
