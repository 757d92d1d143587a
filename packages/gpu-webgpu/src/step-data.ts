import { ExecutorError, type ForwardBatch } from '@x/model';

/**
 * Packs a batch into the step data the kernels read (u32 words): token ids [T], positions [T],
 * KV slots [T], each token's block-table offset [T], the sampled rows [S] (`sampled`, in batch
 * order), the attention tiles (runs of up to `tileTokens` tokens of one sequence: first token
 * << 8 | count), then the block tables.
 * @throws ExecutorError `EXECUTOR_BAD_BATCH` when it needs more than `maxWords` words
 */
export function packStepData(
  batch: ForwardBatch,
  sampled: ForwardBatch['sequences'],
  blockSize: number,
  tileTokens: number,
  maxWords: number,
): { data: Uint32Array<ArrayBuffer>; tiles: number } {
  const T = batch.tokenIds.length;
  const bs = blockSize;
  const per = tileTokens;
  let tableWords = 0;
  let tiles = 0;
  for (const s of batch.sequences) {
    tableWords += Math.ceil((s.start + s.numTokens) / bs);
    tiles += Math.ceil(s.numTokens / per);
  }
  const data = new Uint32Array(4 * T + sampled.length + tiles + tableWords);
  if (data.length > maxWords) {
    throw new ExecutorError(
      `the batch's block tables (${tableWords} entries) are over this executor's budget`,
      'EXECUTOR_BAD_BATCH',
    );
  }
  data.set(batch.tokenIds, 0);
  data.set(batch.positions, T);
  data.set(batch.slotMapping, 2 * T);
  let tile = 4 * T + sampled.length;
  let table = tile + tiles;
  let row = 0;
  for (const s of batch.sequences) {
    const blocks = Math.ceil((s.start + s.numTokens) / bs);
    for (let b = 0; b < blocks; b++) data[table + b] = s.blockTable[b] as number;
    data.fill(table, 3 * T + s.offset, 3 * T + s.offset + s.numTokens);
    if (s.sample) data[4 * T + row++] = s.offset + s.numTokens - 1;
    for (let t = 0; t < s.numTokens; t += per) {
      data[tile++] = ((s.offset + t) << 8) | Math.min(per, s.numTokens - t);
    }
    table += blocks;
  }
  return { data, tiles };
}
