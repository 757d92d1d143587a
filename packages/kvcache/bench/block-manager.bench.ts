import { bench, describe } from 'vitest';
import { BlockManager, BlockPool } from '../src/index.js';

// Operations per second of the hot paths. Each bench call does OPS operations, so
// operations/s = hz × OPS (printed below the table by the reporter as `hz`).
const OPS = 1000;

describe(`block pool (${OPS} operations per call)`, () => {
  const pool = new BlockPool(4096);
  const ids = new Int32Array(OPS / 2);
  bench('allocate + release', () => {
    for (let i = 0; i < OPS / 2; i++) ids[i] = pool.allocate();
    for (let i = 0; i < OPS / 2; i++) pool.release(ids[i]!);
  });
});

describe(`block manager (${OPS} operations per call)`, () => {
  const kv = new BlockManager({ numBlocks: 4096, blockSize: 16 });
  const prompt = Array.from({ length: 64 }, (_, i) => i);
  const token = [7];
  let seq = 0;
  // 100 sequences: allocate a 64-token prompt, append 8 decode tokens, free: 10 operations each.
  bench('allocate + 8 × appendSlots + free (no prefix hit)', () => {
    for (let s = 0; s < OPS / 10; s++) {
      const id = seq++;
      kv.allocate(id, prompt);
      for (let t = 0; t < 8; t++) kv.appendSlots(id, token);
      kv.free(id);
    }
  });

  const cached = new BlockManager({ numBlocks: 4096, blockSize: 16 });
  cached.allocate(-1, prompt);
  cached.commitComputed(-1, prompt.length);
  bench('allocate with a 48-token prefix hit + 8 × appendSlots + free', () => {
    for (let s = 0; s < OPS / 10; s++) {
      const id = seq++;
      cached.allocate(id, prompt);
      for (let t = 0; t < 8; t++) cached.appendSlots(id, token);
      cached.free(id);
    }
  });
});
