/** The parent hash of a sequence's first block. */
export const ROOT_HASH = 0;

/**
 * Hash of one full block: its parent block's hash and its token ids, as a safe integer (53 bits
 * from two 32-bit multiply-xor lanes). Cheap enough to run on every filled block; collisions are
 * harmless because a hit is confirmed by comparing the stored tokens and parent.
 */
export function hashBlock(
  parent: number,
  tokens: ArrayLike<number>,
  start: number,
  end: number,
): number {
  let h1 = (parent % 0x1_0000_0000) ^ 0x9e3779b9;
  let h2 = Math.floor(parent / 0x1_0000_0000) ^ 0x85ebca6b;
  for (let i = start; i < end; i++) {
    const t = tokens[i]! | 0;
    h1 = Math.imul(h1 ^ t, 0x01000193);
    h2 = Math.imul(h2 ^ (t + i - start), 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 ^= h1 >>> 13;
  return ((h2 >>> 0) % 0x20_0000) * 0x1_0000_0000 + (h1 >>> 0);
}
