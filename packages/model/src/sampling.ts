import {
  type ForwardResult,
  type ForwardSequence,
  MAX_LOGIT_BIAS,
  type SamplingParams,
  type TokenLogprobs,
} from './executor.js';

/** Temperatures below this sample greedily (vLLM's `_SAMPLING_EPS`). */
const GREEDY_EPS = 1e-5;

/** What penalties and seeded draws need to know about a sequence. */
export interface SamplingContext {
  promptTokenIds?: ArrayLike<number>;
  outputTokenIds?: ArrayLike<number>;
}

/** A sampled token and, when asked for, its log-probabilities. */
export interface SampledToken {
  tokenId: number;
  logprobs: TokenLogprobs | undefined;
}

/** A stable error for sampling parameters out of range. */
export class SamplingParamsError extends RangeError {
  override readonly name = 'SamplingParamsError';
  readonly code = 'SAMPLING_BAD_PARAMS';
}

/**
 * Checks sampling parameters, naming the first one out of range.
 * @throws SamplingParamsError
 */
export function validateSamplingParams(params: SamplingParams): void {
  const bad = (field: string, expected: string, value: unknown): never => {
    throw new SamplingParamsError(`sampling.${field} must be ${expected}, got ${String(value)}`);
  };
  const { temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty } =
    params;
  if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature))) {
    bad('temperature', 'a finite number ≥ 0', temperature);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= -1)) {
    bad('topK', 'an integer ≥ -1', topK);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) bad('topP', 'in (0, 1]', topP);
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) bad('minP', 'in [0, 1]', minP);
  if (
    repetitionPenalty !== undefined &&
    !(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))
  ) {
    bad('repetitionPenalty', 'a finite number > 0', repetitionPenalty);
  }
  for (const [field, value] of [
    ['presencePenalty', presencePenalty],
    ['frequencyPenalty', frequencyPenalty],
  ] as const) {
    if (value !== undefined && !(value >= -2 && value <= 2)) bad(field, 'in [-2, 2]', value);
  }
  if (params.seed !== undefined && !Number.isSafeInteger(params.seed)) {
    bad('seed', 'a safe integer', params.seed);
  }
  if (
    params.logprobs !== undefined &&
    !(Number.isInteger(params.logprobs) && params.logprobs >= 0 && params.logprobs <= 20)
  ) {
    bad('logprobs', 'an integer in [0, 20]', params.logprobs);
  }
  const bias = params.logitBias;
  if (bias !== undefined) {
    if (!(bias instanceof Map)) bad('logitBias', 'a Map of token id to bias', bias);
    if (bias.size > MAX_LOGIT_BIAS) {
      bad('logitBias', `at most ${MAX_LOGIT_BIAS} entries`, `${bias.size} entries`);
    }
    for (const [id, value] of bias) {
      if (!(Number.isInteger(id) && id >= 0)) bad('logitBias', 'keyed by token ids', id);
      if (!(value >= -100 && value <= 100)) bad(`logitBias[${id}]`, 'in [-100, 100]', value);
    }
  }
}

/**
 * A uniform draw in [0, 1) that depends only on `seed` and `index` (SplitMix64's finalizer over
 * both), so a seeded sequence's n-th token is drawn the same way in any batch.
 */
export function seededUniform(seed: number, index: number): number {
  let z = BigInt.asUintN(
    64,
    BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(index + 1) * 0xbf58476d1ce4e5b9n,
  );
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  z ^= z >> 31n;
  return Number(z >> 11n) / 2 ** 53;
}

/**
 * Samples one token from `logits` (modified in place: penalties and temperature are applied to
 * it). The CPU reference sampler; other executors must draw the same tokens for seeded and greedy
 * sequences.
 */
export function sampleLogits(
  logits: Float32Array,
  params: SamplingParams = {},
  context: SamplingContext = {},
): SampledToken {
  const logprobs = params.logprobs === undefined ? undefined : rawLogprobs(logits, params.logprobs);
  if (params.allowedTokens) applyTokenMask(logits, params.allowedTokens);
  applyPenalties(logits, params, context);
  const temperature = params.temperature ?? 1;
  let tokenId: number;
  if (temperature < GREEDY_EPS) tokenId = argmax(logits);
  else {
    const outputs = context.outputTokenIds?.length ?? 0;
    const u = params.seed === undefined ? Math.random() : seededUniform(params.seed, outputs);
    tokenId = sampleFiltered(logits, temperature, params, u);
  }
  if (logprobs) logprobs.logprob = logprobs.all[tokenId] ?? Number.NEGATIVE_INFINITY;
  return {
    tokenId,
    logprobs: logprobs ? { logprob: logprobs.logprob, top: logprobs.top } : undefined,
  };
}

/**
 * Samples each sequence with `sample: true` from its logits row (`rows` in batch order, one per
 * such sequence, as `ReferenceExecutor.forward` returns them): the result of an executor that
 * samples on the host. Rows are modified in place (penalties, temperature).
 */
export function sampleSequences(
  sequences: readonly ForwardSequence[],
  rows: readonly Float32Array[],
): ForwardResult {
  const tokens = new Int32Array(rows.length);
  const logprobs: Array<TokenLogprobs | undefined> = [];
  let i = 0;
  for (const seq of sequences) {
    if (!seq.sample) continue;
    const sampled = sampleLogits(rows[i] as Float32Array, seq.sampling, seq);
    tokens[i++] = sampled.tokenId;
    logprobs.push(sampled.logprobs);
  }
  return { tokens, logprobs };
}

/** Index of the largest value; the lowest index among ties, as llama.cpp and torch.argmax. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > max) {
      max = v;
      best = i;
    }
  }
  return best;
}

/**
 * Sets the logit of every token whose bit in `mask` is clear to −∞. Words all set are skipped,
 * words all clear filled, and mixed words visit only their clear bits: grammar masks are mostly
 * runs (a JSON string allows nearly everything, a number a few digit tokens).
 */
export function applyTokenMask(logits: Float32Array, mask: Int32Array | Uint32Array): void {
  const n = logits.length;
  const words = Math.min(mask.length, Math.ceil(n / 32));
  const NEG = Number.NEGATIVE_INFINITY;
  for (let w = 0; w < words; w++) {
    const word = (mask[w] as number) | 0;
    if (word === -1) continue;
    const base = w * 32;
    if (word === 0 && base + 32 <= n) {
      logits.fill(NEG, base, base + 32);
      continue;
    }
    // The clear bits, lowest first.
    let clear = ~word;
    while (clear !== 0) {
      const bit = 31 - Math.clz32(clear & -clear);
      if (base + bit < n) logits[base + bit] = NEG;
      clear &= clear - 1;
    }
  }
  if (mask.length * 32 < n) logits.fill(NEG, mask.length * 32);
}

/** Whether `mask` (see `SamplingParams.allowedTokens`) allows token `id`. */
export function tokenAllowed(mask: Int32Array | Uint32Array, id: number): boolean {
  return (((mask[id >> 5] ?? 0) >>> (id & 31)) & 1) === 1;
}

function applyPenalties(logits: Float32Array, params: SamplingParams, context: SamplingContext) {
  // The bias first, as vLLM's logit_bias processor and llama.cpp's sampler chain run it.
  for (const [id, bias] of params.logitBias ?? []) {
    const v = logits[id];
    if (v !== undefined) logits[id] = v + bias;
  }
  const repetition = params.repetitionPenalty ?? 1;
  const presence = params.presencePenalty ?? 0;
  const frequency = params.frequencyPenalty ?? 0;
  const output = context.outputTokenIds ?? [];
  if (repetition !== 1) {
    const seen = new Set<number>();
    for (const ids of [context.promptTokenIds ?? [], output]) {
      for (let i = 0; i < ids.length; i++) seen.add(ids[i] as number);
    }
    for (const id of seen) {
      const v = logits[id];
      if (v !== undefined) logits[id] = v > 0 ? v / repetition : v * repetition;
    }
  }
  if (presence !== 0 || frequency !== 0) {
    const counts = new Map<number, number>();
    for (let i = 0; i < output.length; i++) {
      const id = output[i] as number;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, count] of counts) {
      const v = logits[id];
      if (v !== undefined) logits[id] = v - presence - frequency * count;
    }
  }
}

function sampleFiltered(
  logits: Float32Array,
  temperature: number,
  params: SamplingParams,
  u: number,
) {
  const n = logits.length;
  const topK = params.topK ?? 0;
  const topP = params.topP ?? 1;
  const minP = params.minP ?? 0;
  // Candidates in descending order; the full vocabulary (unsorted) when nothing filters.
  let ids: Int32Array;
  if (topK > 0 && topK < n) ids = topIndices(logits, topK);
  else if (topP < 1 || minP > 0) ids = topIndices(logits, n);
  else ids = Int32Array.from({ length: n }, (_, i) => i);
  const max = logits[argmaxOf(logits, ids)] as number;
  const probs = new Float64Array(ids.length);
  let sum = 0;
  for (let i = 0; i < ids.length; i++) {
    const p = Math.exp(((logits[ids[i] as number] as number) - max) / temperature);
    probs[i] = p;
    sum += p;
  }
  let keep = ids.length;
  if (topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < ids.length; i++) {
      cumulative += (probs[i] as number) / sum;
      if (cumulative >= topP) {
        keep = i + 1;
        break;
      }
    }
  }
  if (minP > 0) {
    const threshold = minP * (probs[0] as number);
    let k = 1;
    while (k < keep && (probs[k] as number) >= threshold) k++;
    keep = k;
  }
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[i] as number;
  let target = u * total;
  for (let i = 0; i < keep; i++) {
    target -= probs[i] as number;
    if (target < 0) return ids[i] as number;
  }
  return ids[keep - 1] as number;
}

function argmaxOf(values: Float32Array, ids: Int32Array): number {
  let best = ids[0] as number;
  for (let i = 1; i < ids.length; i++) {
    const id = ids[i] as number;
    if ((values[id] as number) > (values[best] as number)) best = id;
  }
  return best;
}

/** Largest index {@link sortDescending} packs beside a value's key in one f64: 2^21 − 1. */
const KEYED_SORT_INDICES = 2 ** 21;
const keyScratch = new Float32Array(1);
const keyBits = new Uint32Array(keyScratch.buffer);

/**
 * `ids` sorted by descending `values[id]`, ties by ascending id, as the comparator
 * `values[b] - values[a] || a - b` orders them (−0 and +0 tie; so do equal infinities). Each id
 * becomes one f64, (2^32 − 1 − the value's order-preserving u32) × 2^21 + id, exact below 2^53,
 * and the native numeric sort orders those: about 4× faster than a comparator over 128k ids.
 */
export function sortDescending(values: Float32Array, ids: Int32Array): Int32Array {
  if (values.length > KEYED_SORT_INDICES) {
    return ids.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  }
  const keys = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    // +0 for −0, so that they tie as a comparison has them.
    keyScratch[0] = (values[id] as number) + 0;
    const bits = keyBits[0] as number;
    const order = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - order) * KEYED_SORT_INDICES + id;
  }
  keys.sort();
  for (let i = 0; i < keys.length; i++) ids[i] = (keys[i] as number) % KEYED_SORT_INDICES;
  return ids;
}

/** The k indices of the largest values, largest first (ties: lower index first). */
function topIndices(values: Float32Array, k: number): Int32Array {
  if (k >= values.length) {
    return sortDescending(
      values,
      Int32Array.from({ length: values.length }, (_, i) => i),
    );
  }
  // A min-heap of the best k seen so far.
  const heap = new Int32Array(k);
  let size = 0;
  const less = (a: number, b: number) =>
    (values[a] as number) < (values[b] as number) || (values[a] === values[b] && a > b);
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(heap[l] as number, heap[m] as number)) m = l;
      if (r < size && less(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as number, heap[i] as number];
      i = m;
    }
  };
  for (let id = 0; id < values.length; id++) {
    if (size < k) {
      heap[size] = id;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(heap[i] as number, heap[p] as number)) break;
        [heap[i], heap[p]] = [heap[p] as number, heap[i] as number];
        i = p;
      }
    } else if (less(heap[0] as number, id)) {
      heap[0] = id;
      siftDown(0);
    }
  }
  return sortDescending(values, heap);
}

function rawLogprobs(logits: Float32Array, topN: number) {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  const logZ = max + Math.log(sum);
  const all = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) all[i] = (logits[i] as number) - logZ;
  const top =
    topN > 0
      ? [...topIndices(all, topN)].map((tokenId) => ({ tokenId, logprob: all[tokenId] as number }))
      : [];
  return { all, top, logprob: 0 };
}
