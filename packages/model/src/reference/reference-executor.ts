import { kvGeometry } from '@x/budget';
import type { ModelConfig } from '../config.js';
import {
  ExecutorError,
  type ForwardBatch,
  type ForwardResult,
  type KvCacheShape,
  type ModelExecutor,
} from '../executor.js';
import { buildModelGraph } from '../graph/build.js';
import type { ModelGraph, MulMatNode, MulMatOutput } from '../graph/graph.js';
import {
  createPreparedActivations,
  dequantizeRow,
  type PreparedActivations,
} from '../quant/index.js';
import { sampleSequences } from '../sampling.js';
import { validateBatch } from '../validate-batch.js';
import type { ModelWeights } from '../weights.js';
import { applyRope, glu, matmul, pagedAttention, rmsNorm, softcap } from './ops.js';

/** Options of {@link ReferenceExecutor}. */
export interface ReferenceExecutorOptions {
  /** Device KV blocks. */
  numBlocks: number;
  /** Tokens per block. Default `DEFAULT_BLOCK_SIZE` (16). */
  blockSize?: number;
  /** Host blocks for swapping. Default 0. */
  numHostBlocks?: number;
}

/** Activation buffers, one per graph value, grown to the largest batch seen and reused. */
class Scratch {
  private rows = 0;
  private sampledRows = 0;
  readonly values = new Map<string, Float32Array>();
  /** One prepared activation row per token, for the matmuls. */
  acts: PreparedActivations[] = [];
  scores = new Float32Array(0);
  /** The whole output of a `mul_mat` with several outputs, before it is split. */
  private fused = new Float32Array(0);
  private readonly width: number;
  constructor(private readonly graph: ModelGraph) {
    // Activations are prepared for the matmuls' inputs only: the widest of them, not the logits.
    let width = 0;
    for (const n of graph.nodes) if (n.op === 'mul_mat') width = Math.max(width, n.weight.cols);
    this.width = width;
  }
  ensure(tokens: number, sampled: number, context: number): void {
    if (tokens > this.rows || sampled > this.sampledRows) {
      this.rows = Math.max(tokens, this.rows);
      this.sampledRows = Math.max(sampled, this.sampledRows);
      for (const [name, v] of Object.entries(this.graph.values)) {
        const rows = v.rows === 'tokens' ? this.rows : this.sampledRows;
        this.values.set(name, new Float32Array(rows * v.width));
      }
      while (this.acts.length < this.rows) this.acts.push(createPreparedActivations(this.width));
    }
    if (context > this.scores.length) this.scores = new Float32Array(context);
  }
  /** Room for a split `mul_mat`'s whole output over `rows` rows. */
  split(node: MulMatNode, rows: number): Float32Array {
    const n = rows * node.weight.rows;
    if (this.fused.length < n) this.fused = new Float32Array(n);
    return this.fused;
  }
}

/** Copies each output's columns of a split `mul_mat` result to its own activation. */
function splitRows(
  all: Float32Array,
  rows: number,
  outputs: readonly MulMatOutput[],
  val: (name: string) => Float32Array,
): void {
  const width = outputs.reduce((n, o) => n + o.rows, 0);
  let at = 0;
  for (const o of outputs) {
    const out = val(o.value);
    for (let t = 0; t < rows; t++) {
      out.set(all.subarray(t * width + at, t * width + at + o.rows), t * o.rows);
    }
    at += o.rows;
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
  /** The forward pass this executor interprets, node by node. */
  readonly graph: ModelGraph;
  private readonly kvDim: number;
  private keys: Float32Array[];
  private values: Float32Array[];
  private hostKeys: Float32Array[];
  private hostValues: Float32Array[];
  private readonly scratch: Scratch;
  private disposed = false;

  constructor(
    model: { config: ModelConfig; weights: ModelWeights },
    options: ReferenceExecutorOptions,
  ) {
    const { numBlocks, blockSize, numHostBlocks } = kvGeometry(options);
    this.config = model.config;
    this.graph = buildModelGraph(model.config, model.weights);
    this.kvCache = { numBlocks, numHostBlocks, blockSize };
    this.kvDim = this.graph.kvDim;
    const slots = numBlocks * blockSize * this.kvDim;
    const hostSlots = numHostBlocks * blockSize * this.kvDim;
    const layers = this.graph.kvLayers;
    this.keys = Array.from({ length: layers }, () => new Float32Array(slots));
    this.values = Array.from({ length: layers }, () => new Float32Array(slots));
    this.hostKeys = Array.from({ length: layers }, () => new Float32Array(hostSlots));
    this.hostValues = Array.from({ length: layers }, () => new Float32Array(hostSlots));
    this.scratch = new Scratch(this.graph);
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
    const T = batch.tokenIds.length;
    const sampledRows: number[] = [];
    let maxContext = 0;
    for (const s of batch.sequences) {
      maxContext = Math.max(maxContext, s.start + s.numTokens);
      if (s.sample) sampledRows.push(s.offset + s.numTokens - 1);
    }
    const S = sampledRows.length;
    const sc = this.scratch;
    sc.ensure(T, S, maxContext);
    const { graph } = this;
    const val = (name: string) => sc.values.get(name)!;
    const rowsOf = (name: string) => (graph.values[name]!.rows === 'tokens' ? T : S);
    for (const node of graph.nodes) {
      switch (node.op) {
        case 'get_rows': {
          const x = val(node.out);
          const e = node.weight;
          const d = e.cols;
          for (let t = 0; t < T; t++) {
            dequantizeRow(e.type, e.data, (batch.tokenIds[t] as number) * e.rowBytes, x, t * d, d);
          }
          if (node.scale !== 1) {
            // ggml multiplies in f32: the scale is rounded to f32 first.
            const scale = Math.fround(node.scale);
            for (let i = 0; i < T * d; i++) x[i] = Math.fround((x[i] as number) * scale);
          }
          break;
        }
        case 'rms_norm': {
          const input = val(node.input);
          const out = val(node.out);
          const n = node.weight.length;
          const groups = (rowsOf(node.input) * graph.values[node.input]!.width) / n;
          for (let g = 0; g < groups; g++) rmsNorm(input, g * n, node.weight, node.eps, out, g * n);
          break;
        }
        case 'mul_mat': {
          const rows = rowsOf(node.input);
          const out =
            node.outputs.length === 1 ? val(node.outputs[0]!.value) : sc.split(node, rows);
          matmul(node.weight, val(node.input), rows, out, sc.acts, node.bias);
          if (node.outputs.length > 1) splitRows(out, rows, node.outputs, val);
          break;
        }
        case 'rope': {
          const x = val(node.value);
          const width = graph.values[node.value]!.width;
          for (let t = 0; t < T; t++) {
            applyRope(x, t * width, node.heads, batch.positions[t] as number, node.rope);
          }
          break;
        }
        case 'kv_store': {
          const k = val(node.k);
          const v = val(node.v);
          const kvDim = this.kvDim;
          const keys = this.keys[node.kvLayer]!;
          const values = this.values[node.kvLayer]!;
          for (let t = 0; t < T; t++) {
            const slot = batch.slotMapping[t] as number;
            keys.set(k.subarray(t * kvDim, (t + 1) * kvDim), slot * kvDim);
            values.set(v.subarray(t * kvDim, (t + 1) * kvDim), slot * kvDim);
          }
          break;
        }
        case 'attn_paged':
          pagedAttention(
            batch,
            node,
            val(node.q),
            val(node.out),
            this.keys[node.kvLayer]!,
            this.values[node.kvLayer]!,
            this.kvCache.blockSize,
            sc.scores,
          );
          break;
        case 'glu':
          glu(
            node.activation,
            val(node.gate),
            val(node.up),
            val(node.out),
            T * graph.values[node.out]!.width,
          );
          break;
        case 'add': {
          const a = val(node.a);
          const b = val(node.b);
          const out = val(node.out);
          const n = rowsOf(node.out) * graph.values[node.out]!.width;
          for (let i = 0; i < n; i++) out[i] = (a[i] as number) + (b[i] as number);
          break;
        }
        case 'output_rows': {
          const input = val(node.input);
          const out = val(node.out);
          const w = graph.values[node.input]!.width;
          sampledRows.forEach((t, i) => {
            out.set(input.subarray(t * w, (t + 1) * w), i * w);
          });
          break;
        }
        case 'softcap': {
          const x = val(node.value);
          const n = rowsOf(node.value) * graph.values[node.value]!.width;
          softcap(x, n, node.cap);
          break;
        }
      }
    }
    const logits = val(graph.logits);
    const V = graph.values[graph.logits]!.width;
    return Array.from({ length: S }, (_, i) => logits.slice(i * V, (i + 1) * V));
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
