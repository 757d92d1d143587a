import { describe, expect, it } from 'vitest';
import { DEFAULT_BLOCK_SIZE, KvGeometryError, kvGeometry } from './kv-geometry.js';

describe('kvGeometry', () => {
  it('fills in the block size and host blocks', () => {
    expect(kvGeometry({ numBlocks: 8 })).toEqual({
      numBlocks: 8,
      blockSize: DEFAULT_BLOCK_SIZE,
      numHostBlocks: 0,
    });
    expect(kvGeometry({ numBlocks: 8, blockSize: 32, numHostBlocks: 4 })).toEqual({
      numBlocks: 8,
      blockSize: 32,
      numHostBlocks: 4,
    });
  });

  it.each([
    [{ numBlocks: 0 }, 'numBlocks'],
    [{ numBlocks: 2.5 }, 'numBlocks'],
    [{ numBlocks: 4, blockSize: 0 }, 'blockSize'],
    [{ numBlocks: 4, numHostBlocks: -1 }, 'numHostBlocks'],
  ])('names the field out of range: %o', (options, field) => {
    expect(() => kvGeometry(options)).toThrow(KvGeometryError);
    expect(() => kvGeometry(options)).toThrow(expect.objectContaining({ field }));
  });
});
