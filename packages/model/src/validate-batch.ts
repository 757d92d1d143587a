import { ExecutorError, type ForwardBatch, type KvCacheShape } from './executor.js';
import { validateSamplingParams } from './sampling.js';

/**
 * Rejects a malformed batch before an executor changes anything: arrays of the wrong length,
 * sequences that are not contiguous, block tables too short or out of range, positions or slots
 * that disagree with the block table, token ids outside the vocabulary, bad sampling parameters,
 * and block copies or swaps out of range. Every executor calls it first.
 * @throws ExecutorError `EXECUTOR_BAD_BATCH` naming the sequence and what is wrong
 */
export function validateBatch(batch: ForwardBatch, kvCache: KvCacheShape, vocabSize: number): void {
  const bad = (message: string): never => {
    throw new ExecutorError(message, 'EXECUTOR_BAD_BATCH');
  };
  const { numBlocks, numHostBlocks, blockSize } = kvCache;
  const T = batch.tokenIds.length;
  if (batch.positions.length !== T || batch.slotMapping.length !== T) {
    bad(`tokenIds, positions and slotMapping must have one entry per token (${T})`);
  }
  let covered = 0;
  for (const [index, s] of batch.sequences.entries()) {
    const where = `sequence ${s.seqId} (#${index})`;
    if (s.offset !== covered || s.numTokens < 1) {
      bad(
        `${where}: tokens must be contiguous from offset ${covered}, got offset ${s.offset} and ${s.numTokens} tokens`,
      );
    }
    covered += s.numTokens;
    if (covered > T) bad(`${where}: runs past the ${T} tokens of the batch`);
    const end = s.start + s.numTokens;
    if (s.blockTable.length * blockSize < end) {
      bad(`${where}: block table of ${s.blockTable.length} blocks cannot hold ${end} positions`);
    }
    for (let b = 0; b < Math.ceil(end / blockSize); b++) {
      const block = s.blockTable[b] as number;
      if (!(Number.isInteger(block) && block >= 0 && block < numBlocks)) {
        bad(`${where}: block table entry ${b} is ${block}, outside [0, ${numBlocks})`);
      }
    }
    for (let i = 0; i < s.numTokens; i++) {
      const t = s.offset + i;
      const pos = s.start + i;
      if (batch.positions[t] !== pos)
        bad(`${where}: token ${i} has position ${batch.positions[t]}, expected ${pos}`);
      const expectedSlot =
        (s.blockTable[Math.floor(pos / blockSize)] as number) * blockSize + (pos % blockSize);
      if (batch.slotMapping[t] !== expectedSlot) {
        bad(
          `${where}: token ${i} maps to slot ${batch.slotMapping[t]}, but its block table puts position ${pos} in slot ${expectedSlot}`,
        );
      }
      const id = batch.tokenIds[t] as number;
      if (!(id >= 0 && id < vocabSize))
        bad(`${where}: token id ${id} is outside the vocabulary (${vocabSize})`);
    }
    if (s.sample && s.sampling) {
      try {
        validateSamplingParams(s.sampling);
      } catch (error) {
        bad(`${where}: ${(error as Error).message}`);
      }
      const mask = s.sampling.allowedTokens;
      if (mask !== undefined) {
        const words = Math.ceil(vocabSize / 32);
        if (!(mask instanceof Int32Array || mask instanceof Uint32Array) || mask.length !== words) {
          bad(
            `${where}: sampling.allowedTokens must be an Int32Array or Uint32Array of ${words} words (a bit per token of ${vocabSize}), got ${mask instanceof Object ? `${mask.constructor.name} of ${(mask as { length?: number }).length} words` : String(mask)}`,
          );
        }
        let any = false;
        for (let w = 0; w < words && !any; w++) {
          const bits =
            w === words - 1 && vocabSize % 32
              ? (mask[w] as number) & ((1 << (vocabSize % 32)) - 1)
              : (mask[w] as number);
          any = bits !== 0;
        }
        if (!any) bad(`${where}: sampling.allowedTokens allows no token`);
      }
    }
  }
  if (covered !== T) bad(`the sequences cover ${covered} of the batch's ${T} tokens`);
  const checkPairs = (
    name: string,
    pairs: ForwardBatch['copies'],
    srcMax: number,
    dstMax: number,
  ) => {
    for (const [src, dst] of pairs ?? []) {
      if (!(src >= 0 && src < srcMax && dst >= 0 && dst < dstMax))
        bad(`${name} [${src}, ${dst}] is out of range`);
    }
  };
  checkPairs('copy', batch.copies, numBlocks, numBlocks);
  checkPairs('swap-out', batch.swapOut, numBlocks, numHostBlocks);
  checkPairs('swap-in', batch.swapIn, numHostBlocks, numBlocks);
}
