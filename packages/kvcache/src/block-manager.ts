import { DEFAULT_BLOCK_SIZE } from '@x/budget';
import { BlockPool } from './block-pool.js';
import { KvCacheError } from './errors.js';
import { PrefixCache } from './prefix-cache.js';

/** Configuration of a {@link BlockManager}. */
export interface BlockManagerConfig {
  /** Physical blocks on the device. */
  numBlocks: number;
  /** Tokens per block. Default `DEFAULT_BLOCK_SIZE` (16). */
  blockSize?: number;
  /** Blocks in host memory for swapping; 0 disables swapping. Default 0. */
  numHostBlocks?: number;
  /** Reuse cached full blocks across sequences with the same prefix. Default true. */
  enablePrefixCaching?: boolean;
  /**
   * Share of the pool kept free when admitting a new prompt, so running sequences can still grow
   * (vLLM's watermark). Default 0.01.
   */
  watermark?: number;
}

/** Whether a prompt can be allocated now, later (once blocks free up), or never. */
export type AllocStatus = 'ok' | 'later' | 'never';

/** What {@link BlockManager.allocate} reserved for a prompt. */
export interface PromptAllocation {
  /** Leading prompt tokens whose K/V is already in cached blocks: no compute needed. */
  numCachedTokens: number;
  /** The sequence's block table after allocation. */
  blockTable: readonly number[];
}

/** What {@link BlockManager.appendSlots} did for new tokens. */
export interface AppendResult {
  /** Where each new token's K/V goes: `block * blockSize + offset`. */
  slotMapping: Int32Array;
  /** Copy-on-write: `[source, destination]` blocks to copy before writing. */
  copies: Array<[number, number]>;
}

interface Sequence {
  tokens: number[];
  table: number[];
  /** Hash of each full block, in order (for prefix caching and parent chaining). */
  blockHashes: number[];
  /** Full blocks whose K/V is computed and that are registered in (or found in) the cache. */
  numCommittedBlocks: number;
  onHost: boolean;
}

/**
 * Paged KV-cache bookkeeping for many sequences, after vLLM's block manager: per-sequence block
 * tables over a device pool (and an optional host pool for swapping), reference-counted sharing
 * with copy-on-write forks, and automatic prefix caching of full blocks with LRU eviction.
 *
 * Everything is plain data: block ids, slot numbers, `[src, dst]` pairs. Every method that throws
 * leaves the manager unchanged.
 */
export class BlockManager {
  readonly blockSize: number;
  readonly device: BlockPool;
  readonly host: BlockPool | undefined;
  readonly enablePrefixCaching: boolean;
  private readonly watermarkBlocks: number;
  private readonly cache: PrefixCache;
  private readonly sequences = new Map<number, Sequence>();
  // Callers make several calls for one sequence in a row (a scheduler: numTokens, canAppendSlots,
  // reserveSlots, slotMapping); remembering the last lookup saves most Map lookups on that path.
  private lastId = Number.NaN;
  private lastSeq: Sequence | undefined;

  /** @throws KvCacheError `KV_INVALID_CONFIG` for a bad size or watermark */
  constructor(config: BlockManagerConfig) {
    const {
      numBlocks,
      blockSize = DEFAULT_BLOCK_SIZE,
      numHostBlocks = 0,
      watermark = 0.01,
    } = config;
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new KvCacheError(
        `blockSize must be a positive integer, got ${blockSize}`,
        'KV_INVALID_CONFIG',
      );
    }
    if (!Number.isInteger(numHostBlocks) || numHostBlocks < 0) {
      throw new KvCacheError(
        `numHostBlocks must be an integer ≥ 0, got ${numHostBlocks}`,
        'KV_INVALID_CONFIG',
      );
    }
    if (!(watermark >= 0 && watermark < 1)) {
      throw new KvCacheError(`watermark must be in [0, 1), got ${watermark}`, 'KV_INVALID_CONFIG');
    }
    this.blockSize = blockSize;
    this.device = new BlockPool(numBlocks);
    this.host = numHostBlocks > 0 ? new BlockPool(numHostBlocks) : undefined;
    this.enablePrefixCaching = config.enablePrefixCaching ?? true;
    this.watermarkBlocks = Math.floor(watermark * numBlocks);
    this.cache = new PrefixCache(this.device, blockSize);
  }

  /**
   * A manager sized by a memory plan: `@x/budget`'s `MemoryBudget.forModel(…)` (or anything with
   * `numKvBlocks` and `blockSize`) gives the device pool.
   * @throws KvCacheError `KV_INVALID_CONFIG` when the plan leaves no KV block
   */
  static fromMemoryBudget(
    budget: { readonly numKvBlocks: number; readonly blockSize: number },
    options: Omit<BlockManagerConfig, 'numBlocks' | 'blockSize'> = {},
  ): BlockManager {
    if (budget.numKvBlocks < 1) {
      throw new KvCacheError(
        'the memory budget leaves no room for a single KV block',
        'KV_INVALID_CONFIG',
      );
    }
    return new BlockManager({
      ...options,
      numBlocks: budget.numKvBlocks,
      blockSize: budget.blockSize,
    });
  }

  /** Free device blocks (evictable cached blocks included). */
  get numFreeBlocks(): number {
    return this.device.numFreeBlocks;
  }

  /** Fraction of device blocks in use. */
  get usage(): number {
    return this.device.usage;
  }

  /** Prefix-cache lookups and hits, in tokens, since creation. */
  get prefixCacheStats(): { queriedTokens: number; hitTokens: number } {
    return { queriedTokens: this.cache.queriedTokens, hitTokens: this.cache.hitTokens };
  }

  /** Ids of the sequences the manager holds. */
  sequenceIds(): number[] {
    return [...this.sequences.keys()];
  }

  /** Whether the manager holds this sequence. */
  has(seqId: number): boolean {
    return seqId === this.lastId || this.sequences.has(seqId);
  }

  /** Tokens (prompt and appended) of a sequence. */
  numTokens(seqId: number): number {
    return this.get(seqId).tokens.length;
  }

  /** The block table of a sequence (device block ids; host ids while swapped out). */
  blockTable(seqId: number): readonly number[] {
    return this.get(seqId).table;
  }

  /** Whether a sequence's blocks are in host memory. */
  isSwappedOut(seqId: number): boolean {
    return this.get(seqId).onHost;
  }

  /**
   * Slots of the tokens `[start, end)` of a device-resident sequence, for a step that computes
   * them (a prefill chunk or a decode).
   * @throws KvCacheError `KV_INVALID_ARGUMENT` for a range outside the sequence
   */
  slotMapping(seqId: number, start: number, end: number): Int32Array {
    const slots = new Int32Array(Math.max(0, end - start));
    this.writeSlots(seqId, start, end, slots, 0);
    return slots;
  }

  /**
   * {@link BlockManager.slotMapping} into a caller's buffer at `offset`, allocating nothing: for
   * building one flattened slot mapping for a whole batch.
   * @throws KvCacheError `KV_INVALID_ARGUMENT` for a range outside the sequence
   */
  writeSlots(seqId: number, start: number, end: number, target: Int32Array, offset: number): void {
    const seq = this.onDevice(seqId, 'slotMapping');
    if (
      !(
        Number.isInteger(start) &&
        Number.isInteger(end) &&
        0 <= start &&
        start <= end &&
        end <= seq.tokens.length
      )
    ) {
      throw new KvCacheError(
        `slotMapping: range [${start}, ${end}) is outside sequence ${seqId} of ${seq.tokens.length} tokens`,
        'KV_INVALID_ARGUMENT',
      );
    }
    const bs = this.blockSize;
    const table = seq.table;
    for (let pos = start, i = offset; pos < end; pos++, i++) {
      const block = (pos / bs) | 0;
      target[i] = table[block]! * bs + (pos - block * bs);
    }
  }

  /** Whether a prompt of these tokens fits now, later, or never (watermark included). */
  canAllocate(prompt: ArrayLike<number>): AllocStatus {
    const needed = Math.ceil(prompt.length / this.blockSize);
    if (needed > this.device.numBlocks - this.watermarkBlocks) return 'never';
    const hits = this.enablePrefixCaching
      ? this.cache.match(prompt, this.maxHitBlocks(prompt.length))
      : [];
    const revived = hits.filter((id) => this.device.refCount(id) === 0).length;
    const required = needed - hits.length + revived;
    return this.device.numFreeBlocks - required >= this.watermarkBlocks ? 'ok' : 'later';
  }

  /**
   * Reserves blocks for a new sequence's prompt, reusing cached blocks of a matching prefix.
   * Cached blocks cover at most `prompt.length - 1` tokens: the last token is always computed,
   * since its logits are needed.
   * @throws KvCacheError `KV_DUPLICATE_SEQUENCE`, `KV_INVALID_ARGUMENT` for an empty prompt,
   *   `KV_OUT_OF_BLOCKS` when the pool cannot hold it (check {@link BlockManager.canAllocate})
   */
  allocate(seqId: number, prompt: ArrayLike<number>): PromptAllocation {
    if (this.sequences.has(seqId)) {
      throw new KvCacheError(`allocate: sequence ${seqId} already exists`, 'KV_DUPLICATE_SEQUENCE');
    }
    if (prompt.length === 0) {
      throw new KvCacheError(
        `allocate: sequence ${seqId} has an empty prompt`,
        'KV_INVALID_ARGUMENT',
      );
    }
    const needed = Math.ceil(prompt.length / this.blockSize);
    const hits = this.enablePrefixCaching
      ? this.cache.match(prompt, this.maxHitBlocks(prompt.length))
      : [];
    const revived = hits.filter((id) => this.device.refCount(id) === 0).length;
    if (needed - hits.length + revived > this.device.numFreeBlocks) {
      throw new KvCacheError(
        `allocate: sequence ${seqId} needs ${needed - hits.length + revived} free blocks, ${this.device.numFreeBlocks} are free`,
        'KV_OUT_OF_BLOCKS',
      );
    }
    // Retain the hits before allocating, so allocation cannot evict them.
    for (const id of hits) this.device.retain(id);
    const table = [...hits];
    while (table.length < needed) table.push(this.device.allocate());
    const tokens = Array.from(prompt);
    this.cache.recordLookup(Math.max(0, prompt.length - 1), hits.length * this.blockSize);
    this.sequences.set(seqId, {
      tokens,
      table,
      blockHashes: this.cache.hashesOf(tokens, hits.length),
      numCommittedBlocks: hits.length,
      onHost: false,
    });
    return { numCachedTokens: hits.length * this.blockSize, blockTable: table };
  }

  /**
   * Records that the K/V of a sequence's first `numComputedTokens` tokens is written, so its full
   * blocks can serve other sequences as prefix-cache hits.
   */
  commitComputed(seqId: number, numComputedTokens: number): void {
    const seq = this.onDevice(seqId, 'commitComputed');
    if (!this.enablePrefixCaching) return;
    const full = Math.floor(Math.min(numComputedTokens, seq.tokens.length) / this.blockSize);
    for (let i = seq.numCommittedBlocks; i < full; i++) {
      const hash = this.cache.hashBlockOf(seq.tokens, i, seq.blockHashes);
      this.cache.register(seq.table[i]!, hash, seq.tokens, i, seq.blockHashes[i - 1]);
    }
    seq.numCommittedBlocks = Math.max(seq.numCommittedBlocks, full);
  }

  /** Whether appending `count` tokens to a sequence has the blocks it needs. */
  canAppendSlots(seqId: number, count = 1): boolean {
    const seq = this.onDevice(seqId, 'canAppendSlots');
    return this.blocksToAppend(seq, count) <= this.device.numFreeBlocks;
  }

  /**
   * Appends generated tokens to a sequence, allocating blocks as they fill, and copying a shared
   * partial last block first (copy-on-write after a fork).
   * @throws KvCacheError `KV_OUT_OF_BLOCKS` (check {@link BlockManager.canAppendSlots}),
   *   `KV_WRONG_LOCATION` for a swapped-out sequence
   */
  appendSlots(seqId: number, tokenIds: ArrayLike<number>): AppendResult {
    const start = this.numTokens(seqId);
    const copies = this.reserve(seqId, tokenIds, 'appendSlots');
    return { slotMapping: this.slotMapping(seqId, start, start + tokenIds.length), copies };
  }

  /**
   * {@link BlockManager.appendSlots} without computing the slot mapping, for callers that map a
   * different range themselves: returns only the copy-on-write copies.
   */
  reserveSlots(seqId: number, tokenIds: ArrayLike<number>): Array<[number, number]> {
    return this.reserve(seqId, tokenIds, 'reserveSlots');
  }

  /** {@link BlockManager.reserveSlots}, its errors naming the public method called (`op`). */
  private reserve(
    seqId: number,
    tokenIds: ArrayLike<number>,
    op: 'appendSlots' | 'reserveSlots',
  ): Array<[number, number]> {
    const seq = this.onDevice(seqId, op);
    const count = tokenIds.length;
    const required = this.blocksToAppend(seq, count);
    if (required > this.device.numFreeBlocks) {
      throw new KvCacheError(
        `${op}: sequence ${seqId} needs ${required} free blocks, ${this.device.numFreeBlocks} are free`,
        'KV_OUT_OF_BLOCKS',
      );
    }
    const copies: Array<[number, number]> = [];
    const last = seq.table.length - 1;
    if (
      count > 0 &&
      seq.tokens.length % this.blockSize !== 0 &&
      this.device.refCount(seq.table[last]!) > 1
    ) {
      const copy = this.device.allocate();
      copies.push([seq.table[last]!, copy]);
      this.device.release(seq.table[last]!);
      seq.table[last] = copy;
    }
    for (let i = 0; i < count; i++) seq.tokens.push(tokenIds[i]!);
    while (seq.table.length * this.blockSize < seq.tokens.length)
      seq.table.push(this.device.allocate());
    return copies;
  }

  /**
   * Forks a sequence (parallel sampling, beams): the child shares every block of the parent;
   * the first write to a shared partial block copies it.
   * @throws KvCacheError `KV_UNKNOWN_SEQUENCE`, `KV_DUPLICATE_SEQUENCE`, `KV_WRONG_LOCATION`
   */
  fork(parentId: number, childId: number): void {
    const parent = this.onDevice(parentId, 'fork');
    if (this.sequences.has(childId)) {
      throw new KvCacheError(`fork: sequence ${childId} already exists`, 'KV_DUPLICATE_SEQUENCE');
    }
    for (const id of parent.table) this.device.retain(id);
    this.sequences.set(childId, {
      tokens: [...parent.tokens],
      table: [...parent.table],
      blockHashes: [...parent.blockHashes],
      numCommittedBlocks: parent.numCommittedBlocks,
      onHost: false,
    });
  }

  /**
   * Releases every block of a sequence and forgets it. Cached full blocks stay reusable until
   * evicted.
   * @throws KvCacheError `KV_UNKNOWN_SEQUENCE` (also for a second free of the same sequence)
   */
  free(seqId: number): void {
    const seq = this.get(seqId);
    const pool = seq.onHost ? this.host! : this.device;
    for (const id of seq.table) pool.release(id);
    this.sequences.delete(seqId);
    if (seqId === this.lastId) {
      this.lastId = Number.NaN;
      this.lastSeq = undefined;
    }
  }

  /** Whether a device-resident sequence can be swapped out to the host pool. */
  canSwapOut(seqId: number): boolean {
    const seq = this.onDevice(seqId, 'canSwapOut');
    return this.host !== undefined && seq.table.length <= this.host.numFreeBlocks;
  }

  /**
   * Moves a sequence's blocks to host memory: returns the `[device, host]` copies to perform,
   * then frees the device blocks (shared ones stay with their other holders).
   * @throws KvCacheError `KV_INVALID_CONFIG` without a host pool, `KV_OUT_OF_BLOCKS` when it is full
   */
  swapOut(seqId: number): Array<[number, number]> {
    const seq = this.onDevice(seqId, 'swapOut');
    const host = this.host;
    if (!host)
      throw new KvCacheError('swapOut: no host pool (numHostBlocks is 0)', 'KV_INVALID_CONFIG');
    if (seq.table.length > host.numFreeBlocks) {
      throw new KvCacheError(
        `swapOut: sequence ${seqId} needs ${seq.table.length} host blocks, ${host.numFreeBlocks} are free`,
        'KV_OUT_OF_BLOCKS',
      );
    }
    const mapping = seq.table.map((id): [number, number] => [id, host.allocate()]);
    for (const [id] of mapping) this.device.release(id);
    seq.table = mapping.map(([, hostId]) => hostId);
    seq.onHost = true;
    return mapping;
  }

  /** Whether a swapped-out sequence fits back on the device. */
  canSwapIn(seqId: number): boolean {
    const seq = this.get(seqId);
    return seq.onHost && seq.table.length <= this.device.numFreeBlocks;
  }

  /**
   * Moves a swapped-out sequence back to the device: returns the `[host, device]` copies to
   * perform, then frees the host blocks.
   * @throws KvCacheError `KV_WRONG_LOCATION` when it is not swapped out, `KV_OUT_OF_BLOCKS`
   */
  swapIn(seqId: number): Array<[number, number]> {
    const seq = this.get(seqId);
    if (!seq.onHost) {
      throw new KvCacheError(`swapIn: sequence ${seqId} is not swapped out`, 'KV_WRONG_LOCATION');
    }
    if (seq.table.length > this.device.numFreeBlocks) {
      throw new KvCacheError(
        `swapIn: sequence ${seqId} needs ${seq.table.length} device blocks, ${this.device.numFreeBlocks} are free`,
        'KV_OUT_OF_BLOCKS',
      );
    }
    const mapping = seq.table.map((id): [number, number] => [id, this.device.allocate()]);
    for (const [id] of mapping) this.host!.release(id);
    seq.table = mapping.map(([, deviceId]) => deviceId);
    seq.onHost = false;
    // The new device blocks are not in the cache yet; commitComputed registers them again.
    seq.numCommittedBlocks = 0;
    return mapping;
  }

  /** Full blocks a prompt may take from the cache: the last token is always computed. */
  private maxHitBlocks(promptLength: number): number {
    return Math.floor((promptLength - 1) / this.blockSize);
  }

  private blocksToAppend(seq: Sequence, count: number): number {
    const total = seq.tokens.length + count;
    const grow = Math.max(0, Math.ceil(total / this.blockSize) - seq.table.length);
    const partialShared =
      count > 0 &&
      seq.tokens.length % this.blockSize !== 0 &&
      this.device.refCount(seq.table[seq.table.length - 1]!) > 1;
    return grow + (partialShared ? 1 : 0);
  }

  private get(seqId: number): Sequence {
    if (seqId === this.lastId) return this.lastSeq!;
    const seq = this.sequences.get(seqId);
    if (!seq) throw new KvCacheError(`unknown sequence ${seqId}`, 'KV_UNKNOWN_SEQUENCE');
    this.lastId = seqId;
    this.lastSeq = seq;
    return seq;
  }

  private onDevice(seqId: number, op: string): Sequence {
    const seq = this.get(seqId);
    if (seq.onHost) {
      throw new KvCacheError(`${op}: sequence ${seqId} is swapped out`, 'KV_WRONG_LOCATION');
    }
    return seq;
  }
}
