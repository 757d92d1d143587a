// How one llama_decode call is filled from the sequences that have tokens queued.
import type { CustomBatchingPrioritizationStrategy, PrioritizedBatchItem } from 'node-llama-cpp';

/** What the batches so far were made of: for `/health` and for tests of the batching itself. */
export interface BatchStats {
  /** llama_decode calls. */
  batches: number;
  /** Tokens evaluated, prompt tokens included. */
  tokens: number;
  /** Sum over batches of the sequences each held (for the mean). */
  sequences: number;
  /** The most sequences one batch held. */
  maxSequences: number;
}

/** Empty {@link BatchStats}. */
export function emptyBatchStats(): BatchStats {
  return { batches: 0, tokens: 0, sequences: 0, maxSequences: 0 };
}

/**
 * node-llama-cpp's `maximumParallelism` strategy, restated so that every batch is counted into
 * `stats`: each sequence with queued tokens gets an equal share of the batch's `size` tokens and
 * the share a short sequence leaves goes to the longer ones, so a decoding sequence's one token is
 * never held back by another sequence's long prompt (chunked prefill, in vLLM's words).
 */
export function fairShareStrategy(stats: BatchStats): CustomBatchingPrioritizationStrategy {
  return ({ items, size }) => {
    const chosen: PrioritizedBatchItem[] = items.map((item) => ({ item, processAmount: 0 }));
    let left = size;
    let wanting = chosen;
    while (left > 0 && wanting.length > 0) {
      const share = Math.max(1, Math.floor(left / wanting.length));
      for (const c of wanting) {
        const take = Math.min(share, c.item.tokens.length - c.processAmount, left);
        c.processAmount += take;
        left -= take;
        if (left === 0) break;
      }
      wanting = wanting.filter((c) => c.processAmount < c.item.tokens.length);
    }
    const batch = chosen.filter((c) => c.processAmount > 0);
    stats.batches++;
    stats.tokens += size - left;
    stats.sequences += batch.length;
    stats.maxSequences = Math.max(stats.maxSequences, batch.length);
    return batch;
  };
}
