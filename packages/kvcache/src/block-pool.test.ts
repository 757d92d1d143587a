import { describe, expect, it } from 'vitest';
import { BlockPool } from './block-pool.js';
import { KvCacheError } from './errors.js';

describe('BlockPool', () => {
  it('hands out every block once, lowest ids first, then reports exhaustion', () => {
    const pool = new BlockPool(3);
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual([0, 1, 2]);
    expect(pool.numFreeBlocks).toBe(0);
    expect(pool.usage).toBe(1);
    expect(() => pool.allocate()).toThrow(expect.objectContaining({ code: 'KV_OUT_OF_BLOCKS' }));
  });

  it('frees a shared block only when its last reference is released', () => {
    const pool = new BlockPool(2);
    const id = pool.allocate();
    expect(pool.retain(id)).toBe(2);
    expect(pool.release(id)).toBe(1);
    expect(pool.numFreeBlocks).toBe(1);
    expect(pool.release(id)).toBe(0);
    expect(pool.numFreeBlocks).toBe(2);
    expect(pool.allocate()).toBe(id);
  });

  it('rejects a double free and an unknown id without changing the pool', () => {
    const pool = new BlockPool(2);
    const id = pool.allocate();
    pool.release(id);
    expect(() => pool.release(id)).toThrow(KvCacheError);
    expect(() => pool.release(id)).toThrow(expect.objectContaining({ code: 'KV_DOUBLE_FREE' }));
    expect(() => pool.retain(id)).toThrow(expect.objectContaining({ code: 'KV_UNKNOWN_BLOCK' }));
    expect(() => pool.release(7)).toThrow('outside the pool of 2 blocks');
    expect(pool.numFreeBlocks).toBe(2);
  });

  it('rejects a pool size that is not a positive integer', () => {
    expect(() => new BlockPool(0)).toThrow(expect.objectContaining({ code: 'KV_INVALID_CONFIG' }));
    expect(() => new BlockPool(1.5)).toThrow('numBlocks must be a positive integer');
  });
});

describe('BlockPool evictable cached blocks', () => {
  it('keeps a freed cached block reusable until allocate needs it, evicting least recent first', () => {
    const pool = new BlockPool(3);
    const evicted: number[] = [];
    pool.onEvict = (id) => evicted.push(id);
    const [a, b, c] = [pool.allocate(), pool.allocate(), pool.allocate()];
    pool.setCached(a);
    pool.setCached(b);
    pool.release(b);
    pool.release(a);
    pool.release(c);
    expect(pool.numFreeBlocks).toBe(3);
    expect(pool.numEvictableBlocks).toBe(2);
    // The uncached block goes first, then the evictable ones, oldest first (b, then a).
    expect(pool.allocate()).toBe(c);
    expect(pool.allocate()).toBe(b);
    expect(evicted).toEqual([b]);
    expect(pool.isCached(b)).toBe(false);
    // a is still cached: a retain revives it without eviction.
    expect(pool.retain(a)).toBe(1);
    expect(pool.numEvictableBlocks).toBe(0);
    expect(() => pool.allocate()).toThrow(expect.objectContaining({ code: 'KV_OUT_OF_BLOCKS' }));
  });

  it('refuses to mark a free block as cached', () => {
    const pool = new BlockPool(1);
    expect(() => pool.setCached(0)).toThrow(expect.objectContaining({ code: 'KV_UNKNOWN_BLOCK' }));
  });
});
