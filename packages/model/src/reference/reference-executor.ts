import type { ModelConfig } from '../config.js';
import {
  ExecutorError,
  type ForwardBatch,
  type ForwardResult,
  type KvCacheShape,
  type ModelExecutor,
} from '../executor.js';
import {
  createPreparedActivations,
  dequantizeRow,
  type PreparedActivations,
} from '../quant/index.js';
import { sampleSequences } from '../sampling.js';
import { validateBatch } from '../validate-batch.js';
import type { ModelWeights } from '../weights.js';
import { applyRope, matmul, rmsNorm, ropeInverseFrequencies, swiglu } from './ops.js';

/** Options of {@link ReferenceExecutor}. */
export interface ReferenceExecutorOptions {
  /** Device KV blocks. */
  numBlocks: number;
  /** Tokens per block. Default 16. */
  blockSize?: number;
  /** Host blocks for swapping. Default 0. */
  numHostBlocks?: number;
}

/** Activation buffers, grown to the largest batch seen and reused. */
class Scratch {
  tokens = 0;
  x = new Float32Array(0);
  h = new Float32Array(0);
  q = new Float32Array(0);
  k = new Float32Array(0);
  v = new Float32Array(0);
  attn = new Float32Array(0);
  gate = new Float32Array(0);
  up = new Float32Array(0);
  /** One prepared activation row per token, for the matmuls. */
  acts: PreparedActivations[] = [];
  scores = new Float32Array(0);
  private readonly width: number;
  constructor(private readonly config: ModelConfig) {
    this.width = Math.max(
      config.hiddenSize,
      config.intermediateSize,
      config.numHeads * config.headDim,
    );
  }
  ensure(tokens: number, context: number): void {
    const c = this.config;
    if (tokens > this.tokens) {
      const qDim = c.numHeads * c.headDim;
      const kvDim = c.numKvHeads * c.headDim;
      this.x = new Float32Array(tokens * c.hiddenSize);
      this.h = new Float32Array(tokens * Math.max(c.hiddenSize, qDim));
      this.q = new Float32Array(tokens * qDim);
      this.k = new Float32Array(tokens * kvDim);
      this.v = new Float32Array(tokens * kvDim);
      this.attn = new Float32Array(tokens * qDim);
      this.gate = new Float32Array(tokens * c.intermediateSize);
      this.up = new Float32Array(tokens * c.intermediateSize);
      while (this.acts.length < tokens) this.acts.push(createPreparedActivations(this.width));
      this.tokens = tokens;
    }
    if (context > this.scores.length) this.scores = new Float32Array(context);
  }
}

/**
 * The plain-TypeScript executor: the numerical oracle for every other executor, and the fallback
 * where there is no WebGPU adapter. Weights stay in their file types (rows are decoded inside the
 * matmul); K and V are f32, one array per layer, addressed by slot (`block * blockSize + offset`).
 */
export class ReferenceExecutor implements ModelExecutor {
  readonly config: ModelConfig;
  readonly kvCache: KvCacheShape;
  private readonly weights: ModelWeights;
  private readonly kvDim: number;
  private keys: Float32Array[];
  private values: Float32Array[];
  private hostKeys: Float32Array[];
  private hostValues: Float32Array[];
  private readonly inverseFrequencies: Float64Array;
  private readonly scratch: Scratch;
  private disposed = false;

  constructor(
    model: { config: ModelConfig; weights: ModelWeights },
    options: ReferenceExecutorOptions,
  ) {
    const blockSize = options.blockSize ?? 16;
    const numHostBlocks = options.numHostBlocks ?? 0;
    if (!(Number.isInteger(options.numBlocks) && options.numBlocks > 0)) {
      throw new RangeError(`numBlocks must be a positive integer, got ${options.numBlocks}`);
    }
    if (!(Number.isInteger(blockSize) && blockSize > 0)) {
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    }
    this.config = model.config;
    this.weights = model.weights;
    this.kvCache = { numBlocks: options.numBlocks, numHostBlocks, blockSize };
    this.kvDim = model.config.numKvHeads * model.config.headDim;
    const slots = options.numBlocks * blockSize * this.kvDim;
    const hostSlots = numHostBlocks * blockSize * this.kvDim;
    const layers = model.config.numLayers;
    this.keys = Array.from({ length: layers }, () => new Float32Array(slots));
    this.values = Array.from({ length: layers }, () => new Float32Array(slots));
    this.hostKeys = Array.from({ length: layers }, () => new Float32Array(hostSlots));
    this.hostValues = Array.from({ length: layers }, () => new Float32Array(hostSlots));
    this.inverseFrequencies = ropeInverseFrequencies(model.config);
    this.scratch = new Scratch(model.config);
  }

  async execute(
    batch: ForwardBatch,
    options: { signal?: AbortSignal } = {},
  ): Promise<ForwardResult> {
    if (this.disposed)
      throw new ExecutorError('the executor has been disposed', 'EXECUTOR_DISPOSED');
    if (options.signal?.aborted)
      throw new ExecutorError('aborted before the batch ran', 'EXECUTOR_ABORTED');
    return sampleSequences(batch.sequences, this.forward(batch));
  }

  /**
   * Runs a batch without sampling: applies its block copies and swaps, writes every token's K/V to
   * the cache, and returns the logits at the last token of each sequence with `sample: true`, in
   * batch order. For tests and for comparing other executors' logits with the reference.
   * @throws ExecutorError when the batch is malformed (the cache is unchanged)
   */
  forward(batch: ForwardBatch): Float32Array[] {
    if (this.disposed)
      throw new ExecutorError('the executor has been disposed', 'EXECUTOR_DISPOSED');
    validateBatch(batch, this.kvCache, this.config.vocabSize);
    this.moveBlocks(batch);
    const c = this.config;
    const w = this.weights;
    const T = batch.tokenIds.length;
    const d = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = this.kvDim;
    const ff = c.intermediateSize;
    let maxContext = 0;
    for (const s of batch.sequences) maxContext = Math.max(maxContext, s.start + s.numTokens);
    const sc = this.scratch;
    sc.ensure(T, maxContext);
    const { x, h, q, k, v, attn, gate, up, acts } = sc;

    for (let t = 0; t < T; t++) {
      const id = batch.tokenIds[t] as number;
      const e = w.tokenEmbedding;
      dequantizeRow(e.type, e.data, id * e.rowBytes, x, t * d, d);
    }
    for (let l = 0; l < c.numLayers; l++) {
      const layer = w.layers[l]!;
      for (let t = 0; t < T; t++) rmsNorm(x, t * d, layer.attnNorm, c.rmsNormEps, h, t * d);
      matmul(layer.wq, h, T, q, acts, layer.bq);
      matmul(layer.wk, h, T, k, acts, layer.bk);
      matmul(layer.wv, h, T, v, acts, layer.bv);
      const keys = this.keys[l]!;
      const values = this.values[l]!;
      for (let t = 0; t < T; t++) {
        const pos = batch.positions[t] as number;
        applyRope(q, t * qDim, c.numHeads, c.headDim, pos, this.inverseFrequencies, c.ropeStyle);
        applyRope(k, t * kvDim, c.numKvHeads, c.headDim, pos, this.inverseFrequencies, c.ropeStyle);
        const slot = batch.slotMapping[t] as number;
        keys.set(k.subarray(t * kvDim, (t + 1) * kvDim), slot * kvDim);
        values.set(v.subarray(t * kvDim, (t + 1) * kvDim), slot * kvDim);
      }
      this.attention(batch, q, attn, keys, values);
      matmul(layer.wo, attn, T, h, acts);
      for (let i = 0; i < T * d; i++) x[i] = (x[i] as number) + (h[i] as number);
      for (let t = 0; t < T; t++) rmsNorm(x, t * d, layer.ffnNorm, c.rmsNormEps, h, t * d);
      matmul(layer.wGate, h, T, gate, acts);
      matmul(layer.wUp, h, T, up, acts);
      swiglu(gate, up, T * ff);
      matmul(layer.wDown, gate, T, h, acts);
      for (let i = 0; i < T * d; i++) x[i] = (x[i] as number) + (h[i] as number);
    }

    const out: Float32Array[] = [];
    const normed = new Float32Array(d);
    for (const s of batch.sequences) {
      if (!s.sample) continue;
      const last = s.offset + s.numTokens - 1;
      rmsNorm(x, last * d, w.outputNorm, c.rmsNormEps, normed, 0);
      const logits = new Float32Array(c.vocabSize);
      matmul(w.output, normed, 1, logits, acts);
      out.push(logits);
    }
    return out;
  }

  /** Causal attention of each token over its sequence's cached positions `[0, position]`. */
  private attention(
    batch: ForwardBatch,
    q: Float32Array,
    out: Float32Array,
    keys: Float32Array,
    values: Float32Array,
  ): void {
    const c = this.config;
    const hd = c.headDim;
    const qDim = c.numHeads * hd;
    const kvDim = this.kvDim;
    const group = c.numHeads / c.numKvHeads;
    const bs = this.kvCache.blockSize;
    const scale = 1 / Math.sqrt(hd);
    const scores = this.scratch.scores;
    for (const s of batch.sequences) {
      for (let i = 0; i < s.numTokens; i++) {
        const t = s.offset + i;
        const context = (batch.positions[t] as number) + 1;
        for (let head = 0; head < c.numHeads; head++) {
          const qBase = t * qDim + head * hd;
          const kvHead = Math.floor(head / group) * hd;
          let max = Number.NEGATIVE_INFINITY;
          for (let p = 0; p < context; p++) {
            const slot = (s.blockTable[Math.floor(p / bs)] as number) * bs + (p % bs);
            const kBase = slot * kvDim + kvHead;
            let dot = 0;
            for (let j = 0; j < hd; j++)
              dot += (q[qBase + j] as number) * (keys[kBase + j] as number);
            const score = dot * scale;
            scores[p] = score;
            if (score > max) max = score;
          }
          let sum = 0;
          for (let p = 0; p < context; p++) {
            const e = Math.exp((scores[p] as number) - max);
            scores[p] = e;
            sum += e;
          }
          const oBase = t * qDim + head * hd;
          out.fill(0, oBase, oBase + hd);
          for (let p = 0; p < context; p++) {
            const slot = (s.blockTable[Math.floor(p / bs)] as number) * bs + (p % bs);
            const vBase = slot * kvDim + kvHead;
            const weight = (scores[p] as number) / sum;
            for (let j = 0; j < hd; j++)
              out[oBase + j] = (out[oBase + j] as number) + weight * (values[vBase + j] as number);
          }
        }
      }
    }
  }

  private moveBlocks(batch: ForwardBatch): void {
    const n = this.kvCache.blockSize * this.kvDim;
    const copy = (from: Float32Array[], src: number, to: Float32Array[], dst: number) => {
      for (let l = 0; l < from.length; l++) {
        to[l]!.set(from[l]!.subarray(src * n, (src + 1) * n), dst * n);
      }
    };
    for (const [dev, host] of batch.swapOut ?? []) {
      copy(this.keys, dev, this.hostKeys, host);
      copy(this.values, dev, this.hostValues, host);
    }
    for (const [host, dev] of batch.swapIn ?? []) {
      copy(this.hostKeys, host, this.keys, dev);
      copy(this.hostValues, host, this.values, dev);
    }
    for (const [src, dst] of batch.copies ?? []) {
      copy(this.keys, src, this.keys, dst);
      copy(this.values, src, this.values, dst);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.keys = [];
    this.values = [];
    this.hostKeys = [];
    this.hostValues = [];
  }
}
