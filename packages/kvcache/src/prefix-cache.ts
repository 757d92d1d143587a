import type { BlockPool } from './block-pool.js';
import { hashBlock, ROOT_HASH } from './prefix-hash.js';

/**
 * Automatic prefix caching: full blocks keyed by a hash of (parent block's hash, token ids), as in
 * vLLM. A hit is confirmed by comparing the stored parent hash and tokens, so a hash collision can
 * only cost a miss, never wrong K/V. Entries live as long as their block: when the pool evicts an
 * evictable cached block for reuse, its entry goes.
 */
export class PrefixCache {
  private readonly byHash = new Map<number, number>();
  private readonly hashOf: Float64Array;
  private readonly parentOf: Float64Array;
  private readonly tokensOf: Int32Array;
  /** Prompt tokens looked up (all but the last of each prompt). */
  queriedTokens = 0;
  /** Prompt tokens found in the cache. */
  hitTokens = 0;

  constructor(
    private readonly pool: BlockPool,
    private readonly blockSize: number,
  ) {
    this.hashOf = new Float64Array(pool.numBlocks).fill(Number.NaN);
    this.parentOf = new Float64Array(pool.numBlocks);
    this.tokensOf = new Int32Array(pool.numBlocks * blockSize);
    pool.onEvict = (id) => this.evict(id);
  }

  /** Block ids of the longest cached prefix of `tokens`, at most `maxBlocks` blocks. */
  match(tokens: ArrayLike<number>, maxBlocks: number): number[] {
    const hits: number[] = [];
    let parent = ROOT_HASH;
    const bs = this.blockSize;
    for (let i = 0; i < maxBlocks; i++) {
      const hash = hashBlock(parent, tokens, i * bs, (i + 1) * bs);
      const id = this.byHash.get(hash);
      if (id === undefined || this.parentOf[id] !== parent || !this.sameTokens(id, tokens, i * bs))
        break;
      hits.push(id);
      parent = hash;
    }
    return hits;
  }

  /** The chained hashes of the first `count` full blocks of `tokens`. */
  hashesOf(tokens: ArrayLike<number>, count: number): number[] {
    const hashes: number[] = [];
    for (let i = 0; i < count; i++) this.hashBlockOf(tokens, i, hashes);
    return hashes;
  }

  /** The hash of full block `index`, chained on `hashes[index - 1]`; stored into `hashes`. */
  hashBlockOf(tokens: ArrayLike<number>, index: number, hashes: number[]): number {
    const known = hashes[index];
    if (known !== undefined) return known;
    const parent = index === 0 ? ROOT_HASH : hashes[index - 1]!;
    const hash = hashBlock(parent, tokens, index * this.blockSize, (index + 1) * this.blockSize);
    hashes[index] = hash;
    return hash;
  }

  /**
   * Caches a full, computed block. A block already cached, or content another block already
   * caches, is left as it is.
   */
  register(
    blockId: number,
    hash: number,
    tokens: ArrayLike<number>,
    index: number,
    parent: number | undefined,
  ): void {
    if (!Number.isNaN(this.hashOf[blockId]!) || this.byHash.has(hash)) return;
    this.byHash.set(hash, blockId);
    this.hashOf[blockId] = hash;
    this.parentOf[blockId] = parent ?? ROOT_HASH;
    const start = index * this.blockSize;
    for (let j = 0; j < this.blockSize; j++) {
      this.tokensOf[blockId * this.blockSize + j] = tokens[start + j]!;
    }
    this.pool.setCached(blockId);
  }

  /** Counts one prompt lookup for the hit-rate statistics. */
  recordLookup(queriedTokens: number, hitTokens: number): void {
    this.queriedTokens += queriedTokens;
    this.hitTokens += hitTokens;
  }

  private sameTokens(id: number, tokens: ArrayLike<number>, start: number): boolean {
    const base = id * this.blockSize;
    for (let j = 0; j < this.blockSize; j++) {
      if (this.tokensOf[base + j] !== (tokens[start + j]! | 0)) return false;
    }
    return true;
  }

  private evict(id: number): void {
    const hash = this.hashOf[id]!;
    if (this.byHash.get(hash) === id) this.byHash.delete(hash);
    this.hashOf[id] = Number.NaN;
  }
}
