import type { ModelConfig } from '../config.js';
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
}

/** Inverse rotary frequencies per pair: `theta^(-2i/d) / freqFactor[i] / linearScale`. */
export function ropeInverseFrequencies(config: ModelConfig): Float64Array {
  const half = config.headDim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    const factor = config.ropeFreqFactors ? (config.ropeFreqFactors[i] as number) : 1;
    out[i] = config.ropeTheta ** ((-2 * i) / config.headDim) / factor / config.ropeLinearScale;
  }
  return out;
}

/** Rotates `numHeads` heads of `headDim` at `offset` in `x` for position `pos`, in place. */
export function applyRope(
  x: Float32Array,
  offset: number,
  numHeads: number,
  headDim: number,
  pos: number,
  inverseFrequencies: Float64Array,
  style: 'interleaved' | 'neox',
): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos * (inverseFrequencies[i] as number);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
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

/** `gate = silu(gate) * up`, elementwise over `n` values. */
export function swiglu(gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    gate[i] = (g / (1 + Math.exp(-g))) * (up[i] as number);
  }
}
