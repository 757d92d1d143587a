// Our side of the comparison: the reference executor's greedy continuation of a prompt.
import { type ForwardBatch, loadModel, ReferenceExecutor, sequenceBatch } from '@x/model';

/** What the reference executor made of a prompt. */
export interface ReferenceGreedy {
  /** The ids it fed (BOS included when the vocabulary asks). */
  prompt: number[];
  /** Its greedy continuation, `count` tokens, EOS included. */
  tokens: number[];
  /** `tokens` decoded, special tokens left out. */
  text: string;
  /** The smallest gap between the top two logits along the way. */
  minGap: number;
}

/**
 * Our greedy continuation of `prompt`, `count` tokens, and the smallest gap between the top two
 * logits along it. A text prompt is tokenized by the model's own tokenizer, BOS included when the
 * vocabulary asks.
 */
export async function referenceGreedy(
  path: string,
  prompt: number[] | string,
  count: number,
): Promise<ReferenceGreedy> {
  const model = await loadModel(path);
  const ids = typeof prompt === 'string' ? model.tokenizer.encode(prompt) : prompt;
  const blockSize = 16;
  const numBlocks = Math.ceil((ids.length + count) / blockSize);
  const exec = new ReferenceExecutor(model, { numBlocks, blockSize });
  const blockTable = Array.from({ length: numBlocks }, (_, i) => i);
  const tokens: number[] = [];
  let next = ids;
  let start = 0;
  let minGap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const [logits] = exec.forward(sequenceBatch({ tokenIds: next, start, blockTable, blockSize }));
    const sorted = Float32Array.from(logits!).sort().reverse();
    const best = logits!.indexOf(sorted[0]!);
    minGap = Math.min(minGap, sorted[0]! - sorted[1]!);
    tokens.push(best);
    start += next.length;
    next = [best];
  }
  const text = model.tokenizer.decode(tokens, { skipSpecialTokens: true });
  return { prompt: ids, tokens, text, minGap };
}

/** One step of {@link referenceAlong}: where our greedy choice and llama.cpp's stand. */
export interface AlongStep {
  /** Our greedy choice. */
  ours: number;
  /** llama.cpp's. */
  theirs: number;
  /** Our top logit minus our logit for llama.cpp's choice: 0 where we agree. */
  behind: number;
}

/** An executor's logits for a batch, as `ReferenceExecutor.forward` and `WebGpuExecutor.forward` give them. */
export type Forward = (batch: ForwardBatch) => Float32Array[] | Promise<Float32Array[]>;

/**
 * Our logits along llama.cpp's own greedy path (each step is fed llama.cpp's token, so one near
 * tie does not send the two continuations apart): what we would have chosen at each step, and by
 * how much llama.cpp's choice trails ours where they differ. `forward` runs on an executor with
 * blocks `0..` enough for the prompt and the continuation, 16 tokens a block.
 */
export async function greedyAlong(
  forward: Forward,
  prompt: number[],
  theirs: readonly number[],
): Promise<AlongStep[]> {
  const blockSize = 16;
  const numBlocks = blocksFor(prompt.length + theirs.length);
  const blockTable = Array.from({ length: numBlocks }, (_, i) => i);
  const steps: AlongStep[] = [];
  let next = prompt;
  let start = 0;
  for (const token of theirs) {
    const [logits] = await forward(sequenceBatch({ tokenIds: next, start, blockTable, blockSize }));
    let best = 0;
    for (let i = 1; i < logits!.length; i++) if (logits![i]! > logits![best]!) best = i;
    steps.push({ ours: best, theirs: token, behind: logits![best]! - logits![token]! });
    start += next.length;
    next = [token];
  }
  return steps;
}

/** KV blocks of 16 tokens for a sequence of `tokens`. */
export function blocksFor(tokens: number): number {
  return Math.ceil(tokens / 16);
}

/** {@link greedyAlong} on the reference executor. */
export async function referenceAlong(
  path: string,
  prompt: number[],
  theirs: readonly number[],
): Promise<AlongStep[]> {
  const model = await loadModel(path);
  const exec = new ReferenceExecutor(model, {
    numBlocks: blocksFor(prompt.length + theirs.length),
    blockSize: 16,
  });
  return greedyAlong((batch) => exec.forward(batch), prompt, theirs);
}
