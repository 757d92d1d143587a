import type { ForwardBatch } from '../executor.js';
import type { AttnPagedNode, RopeSpec } from '../graph/graph.js';
import { releaseWeightViews } from '../quant/ggml-f32.js';
import { f16ToF32, f32ToF16 } from '../quant/half.js';
import { dotPrepared, type PreparedActivations, prepareActivations } from '../quant/index.js';
import type { WeightMatrix } from '../weights.js';

/** `out[i] = x[i] / rms(x) * w[i]` over `w.length` elements, as llama.cpp's `rms_norm` then `mul`. */
export function rmsNorm(
  x: Float32Array,
  xOffset: number,
  w: Float32Array,
  eps: number,
  out: Float32Array,
  outOffset: number,
): void {
  const n = w.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    sum += v * v;
  }
  const scale = 1 / Math.sqrt(sum / n + eps);
  for (let i = 0; i < n; i++)
    out[outOffset + i] = (x[xOffset + i] as number) * scale * (w[i] as number);
}

/**
 * `out[t, r] = Σ_c W[r, c] · x[t, c]` for `tokens` rows of `x`, computed as ggml's CPU backend
 * does: each activation row is first converted to the weight type's `vec_dot_type` (Q8_0 for Q8_0
 * and Q4_0 weights, Q8_K for Q4_K and Q6_K, F16/BF16 for F16/BF16) and then dotted block by block
 * with integer sums, so greedy outputs agree with llama.cpp's. Weight rows are decoded inside the
 * dot product; nothing weight-sized is allocated. `acts` holds one prepared row per token.
 */
export function matmul(
  w: WeightMatrix,
  x: Float32Array,
  tokens: number,
  out: Float32Array,
  acts: readonly PreparedActivations[],
  bias?: Float32Array,
): void {
  const { rows, cols, rowBytes, data, type } = w;
  for (let t = 0; t < tokens; t++) prepareActivations(type, x, t * cols, cols, acts[t]!);
  for (let r = 0; r < rows; r++) {
    const b = bias ? (bias[r] as number) : 0;
    for (let t = 0; t < tokens; t++) {
      out[t * rows + r] = dotPrepared(type, data, r * rowBytes, acts[t]!) + b;
    }
  }
  releaseWeightViews();
}

/**
 * Rotates `numHeads` heads at `offset` in `x` for position `pos`, in place: pair `i` of each
 * head's first `rotaryDim` values turns by `pos · inverseFrequencies[i]` and is scaled by
 * `attnFactor`; the rest of the head passes through.
 */
export function applyRope(
  x: Float32Array,
  offset: number,
  numHeads: number,
  pos: number,
  rope: RopeSpec,
): void {
  const { headDim, rotaryDim, inverseFrequencies, attnFactor, style } = rope;
  const half = rotaryDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos * (inverseFrequencies[i] as number);
    const cos = Math.cos(angle) * attnFactor;
    const sin = Math.sin(angle) * attnFactor;
    for (let h = 0; h < numHeads; h++) {
      const base = offset + h * headDim;
      const a = style === 'interleaved' ? base + 2 * i : base + i;
      const b = style === 'interleaved' ? a + 1 : a + half;
      const x0 = x[a] as number;
      const x1 = x[b] as number;
      x[a] = x0 * cos - x1 * sin;
      x[b] = x0 * sin + x1 * cos;
    }
  }
}

/**
 * GELU, tanh approximation, as ggml's CPU backend computes it: the input rounded to f16, the
 * result looked up in a table of f16 values (`ggml_table_gelu_f16`); exact outside (-10, 10).
 */
function geluF16(x: number): number {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  const h = f16ToF32(f32ToF16(x));
  const g = Math.fround(
    0.5 * h * (1 + Math.tanh(Math.fround(0.7978845608028654 * h * (1 + 0.044715 * h * h)))),
  );
  return f16ToF32(f32ToF16(g));
}

/** `out = act(gate) · up`, elementwise over `n` values: SwiGLU or GeGLU. */
export function glu(
  activation: 'silu' | 'gelu_tanh',
  gate: Float32Array,
  up: Float32Array,
  out: Float32Array,
  n: number,
): void {
  if (activation === 'silu') {
    for (let i = 0; i < n; i++) {
      const g = gate[i] as number;
      out[i] = (g / (1 + Math.exp(-g))) * (up[i] as number);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = geluF16(gate[i] as number) * (up[i] as number);
  }
}

/** `x = tanh(x / cap) · cap`, in place over `n` values. */
export function softcap(x: Float32Array, n: number, cap: number): void {
  for (let i = 0; i < n; i++) x[i] = Math.tanh((x[i] as number) / cap) * cap;
}

/**
 * Paged attention (the graph's `attn_paged`): each token's query heads over its sequence's cached
 * K/V, read through the block table (`blockTable[p / blockSize] · blockSize + p % blockSize`),
 * causal and within the node's sliding window, scores scaled and soft-capped, softmax in f64.
 * `keys` and `values` hold `kvHeads · headDim` values a slot; `scores` has room for the longest
 * context.
 */
export function pagedAttention(
  batch: Pick<ForwardBatch, 'positions' | 'sequences'>,
  node: Pick<
    AttnPagedNode,
    'heads' | 'kvHeads' | 'headDim' | 'scale' | 'softcap' | 'slidingWindow'
  >,
  q: Float32Array,
  out: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  blockSize: number,
  scores: Float32Array,
): void {
  const hd = node.headDim;
  const qDim = node.heads * hd;
  const kvDim = node.kvHeads * hd;
  const group = node.heads / node.kvHeads;
  const bs = blockSize;
  const { scale, softcap: cap, slidingWindow } = node;
  for (const s of batch.sequences) {
    for (let i = 0; i < s.numTokens; i++) {
      const t = s.offset + i;
      const position = batch.positions[t] as number;
      const first = slidingWindow > 0 ? Math.max(0, position - slidingWindow + 1) : 0;
      for (let head = 0; head < node.heads; head++) {
        const qBase = t * qDim + head * hd;
        const kvHead = Math.floor(head / group) * hd;
        let max = Number.NEGATIVE_INFINITY;
        for (let p = first; p <= position; p++) {
          const slot = (s.blockTable[Math.floor(p / bs)] as number) * bs + (p % bs);
          const kBase = slot * kvDim + kvHead;
          let dot = 0;
          for (let j = 0; j < hd; j++)
            dot += (q[qBase + j] as number) * (keys[kBase + j] as number);
          let score = dot * scale;
          if (cap > 0) score = Math.tanh(score / cap) * cap;
          scores[p] = score;
          if (score > max) max = score;
        }
        let sum = 0;
        for (let p = first; p <= position; p++) {
          const e = Math.exp((scores[p] as number) - max);
          scores[p] = e;
          sum += e;
        }
        const oBase = t * qDim + head * hd;
        out.fill(0, oBase, oBase + hd);
        for (let p = first; p <= position; p++) {
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
