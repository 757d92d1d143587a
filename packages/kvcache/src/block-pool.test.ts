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
