import { MemoryBudget } from '@x/budget';
import { describe, expect, it } from 'vitest';
import { BlockManager } from './block-manager.js';
import { KvCacheError } from './errors.js';

const range = (start: number, end: number) =>
  Array.from({ length: end - start }, (_, i) => start + i);

describe('BlockManager', () => {
  it('allocates whole blocks for a prompt and maps each token to a slot', () => {
    const kv = new BlockManager({ numBlocks: 8, blockSize: 16 });
    const { blockTable, numCachedTokens } = kv.allocate(1, range(0, 40));
    expect(blockTable).toEqual([0, 1, 2]);
    expect(numCachedTokens).toBe(0);
    expect(kv.numFreeBlocks).toBe(5);
    const slots = kv.slotMapping(1, 0, 40);
    expect(slots[0]).toBe(0);
    expect(slots[16]).toBe(16);
    expect(slots[39]).toBe(2 * 16 + 7);
  });

  it('reuses computed full blocks of a shared prefix and reports the tokens it saves', () => {
    const kv = new BlockManager({ numBlocks: 16, blockSize: 16 });
    const system = range(100, 132); // two full blocks of a shared system prompt
    kv.allocate(1, [...system, 1, 2, 3]);
    // Before the K/V is computed nothing is shared.
    expect(kv.allocate(2, [...system, 9]).numCachedTokens).toBe(0);
    kv.commitComputed(1, 35);
    const hit = kv.allocate(3, [...system, 7, 8]);
    expect(hit.numCachedTokens).toBe(32);
    expect(hit.blockTable.slice(0, 2)).toEqual(kv.blockTable(1).slice(0, 2));
    expect(kv.device.refCount(kv.blockTable(1)[0]!)).toBe(2);
    expect(kv.prefixCacheStats.hitTokens).toBe(32);
  });

  it('always leaves the last prompt token to compute', () => {
    const kv = new BlockManager({ numBlocks: 8, blockSize: 4 });
    kv.allocate(1, range(0, 8));
    kv.commitComputed(1, 8);
    expect(kv.allocate(2, range(0, 8)).numCachedTokens).toBe(4);
    expect(kv.allocate(3, range(0, 9)).numCachedTokens).toBe(8);
  });

  it('keeps freed cached blocks reusable until the pool needs them', () => {
    const kv = new BlockManager({ numBlocks: 4, blockSize: 4, watermark: 0 });
    kv.allocate(1, range(0, 9)); // blocks 0, 1, 2
    kv.commitComputed(1, 9);
    kv.free(1);
    expect(kv.numFreeBlocks).toBe(4);
    expect(kv.allocate(2, range(0, 9)).numCachedTokens).toBe(8);
    kv.free(2);
    // A different prompt needing every block evicts the cached ones.
    kv.allocate(3, range(50, 66));
    kv.free(3);
    expect(kv.allocate(4, range(0, 9)).numCachedTokens).toBe(0);
  });

  it('does not share blocks when prefix caching is off', () => {
    const kv = new BlockManager({ numBlocks: 8, blockSize: 4, enablePrefixCaching: false });
    kv.allocate(1, range(0, 9));
    kv.commitComputed(1, 9);
    expect(kv.allocate(2, range(0, 9)).numCachedTokens).toBe(0);
  });

  it('appends decode tokens, taking a new block at each boundary', () => {
    const kv = new BlockManager({ numBlocks: 8, blockSize: 4 });
    kv.allocate(1, range(0, 3));
    expect(kv.appendSlots(1, [3])).toEqual({ slotMapping: Int32Array.of(3), copies: [] });
    const { slotMapping } = kv.appendSlots(1, [4, 5]);
    expect(kv.blockTable(1)).toEqual([0, 1]);
    expect([...slotMapping]).toEqual([4, 5]);
    expect(kv.numTokens(1)).toBe(6);
  });

  it('copies a shared partial block on the first write after a fork', () => {
    const kv = new BlockManager({ numBlocks: 8, blockSize: 4 });
    kv.allocate(1, range(0, 6)); // blocks 0 (full), 1 (half)
    kv.fork(1, 2);
    expect(kv.device.refCount(1)).toBe(2);
    const child = kv.appendSlots(2, [42]);
    expect(child.copies).toEqual([[1, 2]]);
    expect(kv.blockTable(2)).toEqual([0, 2]);
    expect(kv.blockTable(1)).toEqual([0, 1]);
    expect(kv.device.refCount(1)).toBe(1);
    expect(kv.device.refCount(0)).toBe(2);
    // The parent writes into its own block now: no copy.
    expect(kv.appendSlots(1, [43]).copies).toEqual([]);
  });

  it('swaps a sequence out to host blocks and back', () => {
    const kv = new BlockManager({ numBlocks: 4, blockSize: 4, numHostBlocks: 4 });
    kv.allocate(1, range(0, 6));
    expect(kv.swapOut(1)).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(kv.isSwappedOut(1)).toBe(true);
    expect(kv.numFreeBlocks).toBe(4);
    expect(() => kv.appendSlots(1, [1])).toThrow(
      expect.objectContaining({ code: 'KV_WRONG_LOCATION' }),
    );
    kv.allocate(2, range(10, 14));
    expect(kv.canSwapIn(1)).toBe(true);
    // The free list is last-in first-out: sequence 2 took block 1, freed last.
    expect(kv.blockTable(2)).toEqual([1]);
    expect(kv.swapIn(1)).toEqual([
      [0, 0],
      [1, 2],
    ]);
    expect(kv.host!.numFreeBlocks).toBe(4);
    expect(kv.numTokens(1)).toBe(6);
  });

  it('answers canAllocate with ok, later or never, keeping the watermark', () => {
    const kv = new BlockManager({ numBlocks: 10, blockSize: 4, watermark: 0.1 });
    expect(kv.canAllocate(range(0, 37))).toBe('never'); // 10 blocks > 10 − 1
    expect(kv.canAllocate(range(0, 36))).toBe('ok'); // 9 blocks, 1 left
    kv.allocate(1, range(0, 20));
    expect(kv.canAllocate(range(0, 20))).toBe('later');
  });

  it('sizes its pool from a memory budget', () => {
    // Llama-3-8B shapes at 4.5 bits in 24 GiB: 9662 blocks of 16 tokens (see @x/budget).
    const budget = MemoryBudget.forModel(
      { numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, params: 8_030_261_248 },
      { totalAvailableMb: 24_576, bitsPerWeight: 4.5 },
    );
    const kv = BlockManager.fromMemoryBudget(budget, { numHostBlocks: 8 });
    expect(kv.device.numBlocks).toBe(budget.numKvBlocks);
    expect(kv.blockSize).toBe(16);
    const tooSmall = MemoryBudget.forModel(
      { numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, params: 8_030_261_248 },
      { totalAvailableMb: 1024, bitsPerWeight: 4.5 },
    );
    expect(() => BlockManager.fromMemoryBudget(tooSmall)).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG' }),
    );
  });

  describe('misuse', () => {
    it('throws typed errors and changes nothing', () => {
      const kv = new BlockManager({ numBlocks: 2, blockSize: 4 });
      kv.allocate(1, range(0, 4));
      const before = kv.numFreeBlocks;
      expect(() => kv.allocate(1, [1])).toThrow(
        expect.objectContaining({ code: 'KV_DUPLICATE_SEQUENCE' }),
      );
      expect(() => kv.allocate(2, [])).toThrow(
        expect.objectContaining({ code: 'KV_INVALID_ARGUMENT' }),
      );
      expect(() => kv.allocate(3, range(0, 12))).toThrow(
        expect.objectContaining({ code: 'KV_OUT_OF_BLOCKS' }),
      );
      expect(kv.has(3)).toBe(false);
      expect(() => kv.appendSlots(9, [1])).toThrow(
        expect.objectContaining({ code: 'KV_UNKNOWN_SEQUENCE' }),
      );
      expect(() => kv.appendSlots(1, range(0, 9))).toThrow(
        expect.objectContaining({ code: 'KV_OUT_OF_BLOCKS' }),
      );
      expect(kv.numTokens(1)).toBe(4);
      expect(() => kv.slotMapping(1, 0, 5)).toThrow(
        expect.objectContaining({ code: 'KV_INVALID_ARGUMENT' }),
      );
      expect(() => kv.swapOut(1)).toThrow(expect.objectContaining({ code: 'KV_INVALID_CONFIG' }));
      expect(() => kv.swapIn(1)).toThrow(expect.objectContaining({ code: 'KV_WRONG_LOCATION' }));
      expect(kv.numFreeBlocks).toBe(before);
      kv.free(1);
      expect(() => kv.free(1)).toThrow(KvCacheError);
      expect(kv.numFreeBlocks).toBe(2);
    });

    it('rejects a bad configuration', () => {
      expect(() => new BlockManager({ numBlocks: 4, blockSize: 0 })).toThrow(
        expect.objectContaining({ code: 'KV_INVALID_CONFIG' }),
      );
      expect(() => new BlockManager({ numBlocks: 4, watermark: 1 })).toThrow('watermark');
    });

    it('names the method called when slots cannot be had', () => {
      const kv = new BlockManager({ numBlocks: 2, blockSize: 4, watermark: 0 });
      kv.allocate(1, [1, 2, 3, 4, 5, 6, 7, 8]);
      expect(() => kv.reserveSlots(1, [9])).toThrow(
        /^reserveSlots: sequence 1 needs 1 free blocks/,
      );
      expect(() => kv.appendSlots(1, [9])).toThrow(/^appendSlots: sequence 1 needs 1 free blocks/);
    });
  });
});
