import type { RopeStyle } from '../config.js';
import type { WeightMatrix } from '../weights.js';

/**
 * The decoder forward pass as data: what every executor lowers. A graph is a list of nodes over
 * named activations; each activation holds one row per batch token (`rows: 'tokens'`) or one row
 * per sampled sequence (`rows: 'sampled'`, after {@link OutputRowsNode}). Node kinds are named as
 * ggml and vLLM name them (`get_rows`, `rms_norm`, `mul_mat`, `rope`, `attn_paged`, …); a node
 * reads the activations it names and writes one (or, for a split `mul_mat`, several).
 *
 * Executors hold no per-architecture code: an architecture is a mapping from its file's config
 * and tensors to this graph (see `buildModelGraph`), and an executor either interprets the nodes
 * one by one (`ReferenceExecutor`) or matches runs of them against its fused kernels.
 */
export interface ModelGraph {
  /** Every activation a node reads or writes, with its row width and row kind. */
  values: Readonly<Record<string, GraphValue>>;
  nodes: readonly GraphNode[];
  /** The activation that holds the logits (`rows: 'sampled'`, width `vocabSize`). */
  logits: string;
  /** Layers of paged K/V the graph stores to and attends over, all of `kvDim` values a slot. */
  kvLayers: number;
  /** Values per K (and per V) slot: KV heads × head size. */
  kvDim: number;
}

/** One activation of a {@link ModelGraph}. */
export interface GraphValue {
  /** Elements per row. */
  width: number;
  /** One row per batch token, or one per sampled sequence. */
  rows: 'tokens' | 'sampled';
}

/** What every node has: its kind, a name for profiles and errors, and its layer. */
interface NodeBase {
  /** `blk.3.attn_q` style: the layer and what it computes; what profiles group by. */
  name: string;
  /** The transformer block it belongs to, or -1 before the first and after the last. */
  layer: number;
}

/**
 * `out[t] = weight[tokenIds[t]] · scale`: the token embedding gather (ggml's `get_rows`), scaled
 * by √hiddenSize in Gemma.
 */
export interface GetRowsNode extends NodeBase {
  op: 'get_rows';
  weight: WeightMatrix;
  scale: number;
  out: string;
}

/**
 * `out = x / rms(x) · weight` over each group of `weight.length` values of a row: the whole row
 * (`weight.length` = width), or each head of Q or K (`weight.length` = head size, Qwen3's and
 * Gemma 3's q/k norm). Gemma's `1 + w` form is folded into the weight when the model loads.
 */
export interface RmsNormNode extends NodeBase {
  op: 'rms_norm';
  input: string;
  weight: Float32Array;
  eps: number;
  out: string;
}

/** One output of a {@link MulMatNode}: `rows` consecutive rows of the weight. */
export interface MulMatOutput {
  value: string;
  rows: number;
}

/**
 * `out[t, r] = Σ_c weight[r, c] · input[t, c] (+ bias[r])`, against a weight in any GGUF type.
 * A weight that stores several projections one after another (fused QKV, fused gate·up) writes
 * them to several activations, in row order.
 */
export interface MulMatNode extends NodeBase {
  op: 'mul_mat';
  input: string;
  weight: WeightMatrix;
  bias: Float32Array | undefined;
  outputs: readonly MulMatOutput[];
}

/**
 * How RoPE turns positions into angles for one layer: pair `i` of the first `rotaryDim` values
 * of each head turns by `position · inverseFrequencies[i]`, and both outputs are scaled by
 * `attnFactor` (YaRN's and LongRoPE's magnitude correction; 1 otherwise). Linear, Llama 3
 * (`rope_freqs`), YaRN and LongRoPE scaling all reduce to these per-pair frequencies.
 */
export interface RopeSpec {
  style: RopeStyle;
  headDim: number;
  /** Leading values of each head that rotate; the rest pass through (partial rotary). */
  rotaryDim: number;
  /** `rotaryDim / 2` of them. */
  inverseFrequencies: Float64Array;
  attnFactor: number;
}

/** Rotates each of `heads` heads of `value`, in place, by each token's position. */
export interface RopeNode extends NodeBase {
  op: 'rope';
  value: string;
  heads: number;
  rope: RopeSpec;
}

/** Writes each token's K and V rows to its slot of KV layer `kvLayer` (vLLM's `reshape_and_cache`). */
export interface KvStoreNode extends NodeBase {
  op: 'kv_store';
  k: string;
  v: string;
  kvLayer: number;
}

/**
 * Causal attention of each token's query heads over its sequence's cached K/V of layer
 * `kvLayer`, through the block table: `softmax(softcap(q·k · scale)) · v`, with query head `h`
 * reading KV head `h / (heads / kvHeads)`. A `slidingWindow` of w lets position p see positions
 * `(p - w, p]` only (llama.cpp's standard SWA mask); 0 sees the whole prefix.
 */
export interface AttnPagedNode extends NodeBase {
  op: 'attn_paged';
  q: string;
  kvLayer: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  /** `tanh(s / cap) · cap` on the scaled scores (Gemma 2); 0 for none. */
  softcap: number;
  slidingWindow: number;
  out: string;
}

/**
 * `out = act(gate) · up`, elementwise: SwiGLU (`silu`) or GeGLU (`gelu_tanh`, GELU's tanh
 * approximation, as ggml's `gelu` and Gemma's `gelu_pytorch_tanh`).
 */
export interface GluNode extends NodeBase {
  op: 'glu';
  activation: 'silu' | 'gelu_tanh';
  gate: string;
  up: string;
  out: string;
}

/** `out = a + b`, elementwise (the residual add). */
export interface AddNode extends NodeBase {
  op: 'add';
  a: string;
  b: string;
  out: string;
}

/**
 * Keeps the rows of the last token of each sampled sequence, in batch order (ggml's `get_rows`
 * with `inp_out_ids`): everything after it runs on sampled rows only.
 */
export interface OutputRowsNode extends NodeBase {
  op: 'output_rows';
  input: string;
  out: string;
}

/** `value = tanh(value / cap) · cap`, in place (Gemma 2's final logit soft-capping). */
export interface SoftcapNode extends NodeBase {
  op: 'softcap';
  value: string;
  cap: number;
}

/** A node of a {@link ModelGraph}. */
export type GraphNode =
  | GetRowsNode
  | RmsNormNode
  | MulMatNode
  | RopeNode
  | KvStoreNode
  | AttnPagedNode
  | GluNode
  | AddNode
  | OutputRowsNode
  | SoftcapNode;

/** The kinds of node, for executors that list what they lower. */
export type GraphOp = GraphNode['op'];

/** The activations a node reads (for executors that track who reads what, as lowerings do). */
export function nodeReads(n: GraphNode): string[] {
  switch (n.op) {
    case 'get_rows':
      return [];
    case 'rms_norm':
    case 'mul_mat':
    case 'output_rows':
      return [n.input];
    case 'rope':
    case 'softcap':
      return [n.value];
    case 'kv_store':
      return [n.k, n.v];
    case 'attn_paged':
      return [n.q];
    case 'glu':
      return [n.gate, n.up];
    case 'add':
      return [n.a, n.b];
  }
}

/** The activations a node writes (`kv_store` writes the cache, no activation). */
export function nodeWrites(n: GraphNode): string[] {
  switch (n.op) {
    case 'mul_mat':
      return n.outputs.map((o) => o.value);
    case 'rope':
    case 'softcap':
      return [n.value];
    case 'kv_store':
      return [];
    default:
      return [n.out];
  }
}

/**
 * Whether a node from index `from` on reads `value` before one writes it again: whether a fused
 * kernel may skip writing `value` (false: nothing reads what it would have held).
 */
export function readBeforeWritten(
  nodes: readonly GraphNode[],
  from: number,
  value: string,
): boolean {
  for (let i = from; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (nodeReads(n).includes(value)) return true;
    if (nodeWrites(n).includes(value)) return false;
  }
  return false;
}
