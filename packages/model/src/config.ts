/**
 * Architectures xinfer runs: each is a mapping from its file's config and tensors onto the one
 * model graph (`buildModelGraph`).
 */
export const SUPPORTED_ARCHITECTURES = [
  'llama',
  'mistral',
  'qwen2',
  'qwen3',
  'gemma2',
  'gemma3',
  'phi3',
  'smollm3',
] as const;

/** An architecture xinfer runs. `mistral` is `llama` with its own name. */
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/**
 * How rotary embeddings pair dimensions. `interleaved` rotates (x[2i], x[2i+1]) — llama.cpp's
 * `LLAMA_ROPE_TYPE_NORM`, used by GGUF `llama`, `mistral` and `smollm3` files, whose converter
 * permutes Q and K rows for it. `neox` rotates (x[i], x[i + d/2]) — Hugging Face's
 * `rotate_half`, used by safetensors and by GGUF `qwen2`, `qwen3`, `gemma2`, `gemma3`, `phi3`.
 */
export type RopeStyle = 'interleaved' | 'neox';

/** YaRN rope scaling (llama.cpp's `rope_yarn`): a per-pair ramp between two frequencies. */
export interface YarnRopeScaling {
  /** Original training context (`rope.scaling.original_context_length`). */
  originalContextLength: number;
  /** Share of the ramp applied, 1 for YaRN. */
  extFactor: number;
  betaFast: number;
  betaSlow: number;
}

/** Hyperparameters of a decoder-only transformer, from a GGUF file or a Hugging Face config. */
export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  /** Width of the residual stream (`n_embd`, `hidden_size`). */
  hiddenSize: number;
  /** Width of the feed-forward layer (`n_ff`, `intermediate_size`). */
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads; fewer than `numHeads` for grouped-query attention. */
  numKvHeads: number;
  headDim: number;
  /** Context length the model was trained for. */
  contextLength: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeStyle: RopeStyle;
  /** Leading values of each head that RoPE turns (`rope.dimension_count`); `headDim` unless partial. */
  rotaryDim: number;
  /** Linear position scaling (`rope.scaling.type = linear`): positions are divided by it. Default 1. */
  ropeLinearScale: number;
  /**
   * Per-frequency divisors of the rotary angle (Llama 3 rope scaling), `rotaryDim / 2` of them, or
   * undefined. GGUF stores them as the `rope_freqs.weight` tensor; Phi-3's LongRoPE as
   * `rope_factors_short` and `rope_factors_long`, of which the loader keeps the short ones.
   */
  ropeFreqFactors: Float32Array | undefined;
  /**
   * LongRoPE's factors for long contexts (Phi-3 128k, Phi-4-mini): used instead of
   * `ropeFreqFactors` when the executor's context is longer than `ropeOriginalContextLength`, as
   * llama.cpp chooses them.
   */
  ropeLongFreqFactors: Float32Array | undefined;
  /** The context the rope was trained at before scaling (`rope.scaling.original_context_length`). */
  ropeOriginalContextLength: number;
  /** YaRN scaling, or undefined. */
  ropeYarn: YarnRopeScaling | undefined;
  /** Multiplies RoPE's cos and sin (LongRoPE's `rope.scaling.attn_factor`). Default 1. */
  ropeAttnFactor: number;
  /** Rope base of sliding-window layers (Gemma 3's local layers: 10000). Default `ropeTheta`. */
  ropeThetaSwa: number;
  /** Linear rope scaling of sliding-window layers. Default 1 (Gemma 3) or `ropeLinearScale`. */
  ropeLinearScaleSwa: number;
  /** Per layer: whether RoPE is applied (SmolLM3 leaves every fourth layer without). */
  layerRope: boolean[];
  /** Per layer: the sliding window in tokens, or 0 for attention over the whole prefix. */
  layerSlidingWindow: number[];
  /** Q, K and V projections have biases (`qwen2`). */
  attentionBias: boolean;
  /** Scale of the attention scores; `1/√headDim` unless the model says otherwise (Gemma). */
  attentionScale: number;
  /** `tanh(s / cap) · cap` on attention scores (Gemma 2: 50); 0 for none. */
  attnLogitSoftcap: number;
  /** `tanh(s / cap) · cap` on the final logits (Gemma 2: 30); 0 for none. */
  finalLogitSoftcap: number;
  /** Multiplies the token embeddings (Gemma: √hiddenSize). Default 1. */
  embeddingScale: number;
  /** The feed-forward gate's activation: SwiGLU (`silu`) or GeGLU (`gelu_tanh`, Gemma). */
  activation: 'silu' | 'gelu_tanh';
  /** The output projection reuses the token embedding. */
  tieWordEmbeddings: boolean;
}

/** Llama 3 rope scaling parameters, as Hugging Face's `rope_scaling` names them. */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

/**
 * Llama 3 rope frequency factors, computed as llama.cpp's converter does for `rope_freqs.weight`.
 */
export function llama3RopeFreqFactors(
  headDim: number,
  ropeTheta: number,
  scaling: Llama3RopeScaling,
): Float32Array {
  const { factor, lowFreqFactor, highFreqFactor, originalContextLength } = scaling;
  const lowFreqWavelen = originalContextLength / lowFreqFactor;
  const highFreqWavelen = originalContextLength / highFreqFactor;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const freq = 1 / ropeTheta ** ((2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) out[i] = 1;
    else if (wavelen > lowFreqWavelen) out[i] = factor;
    else {
      const smooth =
        (originalContextLength / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

export function isArchitecture(value: unknown): value is Architecture {
  return (SUPPORTED_ARCHITECTURES as readonly unknown[]).includes(value);
}

export const isGemma = (arch: Architecture) => arch === 'gemma2' || arch === 'gemma3';

/** `0.1 · ln(scale) + 1` past 1, as llama.cpp's and Hugging Face's YaRN `get_mscale`. */
export function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/**
 * Sliding-window layers by llama.cpp's `set_swa_pattern`: of every `n` layers the first `n - 1`
 * slide and the last sees everything (0: every layer slides).
 */
export function swaPattern(numLayers: number, n: number): boolean[] {
  return Array.from({ length: numLayers }, (_, il) => n === 0 || il % n < n - 1);
}

/** The parts of a config every architecture shares a default for. */
export function configDefaults(
  arch: Architecture,
  numLayers: number,
  headDim: number,
): Pick<
  ModelConfig,
  | 'rotaryDim'
  | 'ropeLinearScale'
  | 'ropeFreqFactors'
  | 'ropeLongFreqFactors'
  | 'ropeYarn'
  | 'ropeAttnFactor'
  | 'ropeLinearScaleSwa'
  | 'layerRope'
  | 'layerSlidingWindow'
  | 'attentionScale'
  | 'attnLogitSoftcap'
  | 'finalLogitSoftcap'
  | 'embeddingScale'
  | 'activation'
> {
  return {
    rotaryDim: headDim,
    ropeLinearScale: 1,
    ropeFreqFactors: undefined,
    ropeLongFreqFactors: undefined,
    ropeYarn: undefined,
    ropeAttnFactor: 1,
    ropeLinearScaleSwa: 1,
    // SmolLM3 leaves RoPE out of every fourth layer (llama.cpp's n_no_rope_layer_step).
    layerRope: Array.from(
      { length: numLayers },
      (_, il) => arch !== 'smollm3' || (il + 1) % 4 !== 0,
    ),
    layerSlidingWindow: new Array<number>(numLayers).fill(0),
    attentionScale: 1 / Math.sqrt(headDim),
    attnLogitSoftcap: 0,
    finalLogitSoftcap: 0,
    embeddingScale: 1,
    activation: isGemma(arch) ? 'gelu_tanh' : 'silu',
  };
}
