import { ModelFileError } from './errors.js';
import type { GgufIndex, GgufValue } from './gguf/types.js';

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
   * LongRoPE's factors for contexts past `ropeYarn`-less `originalContextLength` (Phi-3 128k,
   * Phi-4-mini): used instead of `ropeFreqFactors` when the executor's context is longer than
   * `ropeOriginalContextLength`, as llama.cpp chooses them.
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

function isArchitecture(value: unknown): value is Architecture {
  return (SUPPORTED_ARCHITECTURES as readonly unknown[]).includes(value);
}

/** llama.cpp's rope style per architecture (`llama_model_rope_type`) for GGUF files. */
const GGUF_ROPE_STYLE: Record<Architecture, RopeStyle> = {
  llama: 'interleaved',
  mistral: 'interleaved',
  smollm3: 'interleaved',
  qwen2: 'neox',
  qwen3: 'neox',
  gemma2: 'neox',
  gemma3: 'neox',
  phi3: 'neox',
};

const isGemma = (arch: Architecture) => arch === 'gemma2' || arch === 'gemma3';

/** `0.1 · ln(scale) + 1` past 1, as llama.cpp's and Hugging Face's YaRN `get_mscale`. */
function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/**
 * Sliding-window layers by llama.cpp's `set_swa_pattern`: of every `n` layers the first `n - 1`
 * slide and the last sees everything (0: every layer slides).
 */
function swaPattern(numLayers: number, n: number): boolean[] {
  return Array.from({ length: numLayers }, (_, il) => n === 0 || il % n < n - 1);
}

/** The parts of a config every architecture shares a default for. */
function defaults(
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

/**
 * The model config a GGUF file's metadata describes (`{arch}.embedding_length` and friends), as
 * llama.cpp's `load_hparams` reads it. Rope frequency factors come from tensors
 * (`rope_freqs.weight`, `rope_factors_short/long.weight`) and are filled in by the loader.
 * @throws ModelFileError `MODEL_UNSUPPORTED_ARCH` or `MODEL_BAD_KEY`, naming the key
 */
export function configFromGguf(index: GgufIndex): ModelConfig {
  const { file, metadata } = index;
  const arch = metadata['general.architecture'];
  if (typeof arch !== 'string') {
    throw new ModelFileError('general.architecture is missing or not a string', 'MODEL_BAD_KEY', {
      file,
      key: 'general.architecture',
    });
  }
  if (!isArchitecture(arch)) {
    throw new ModelFileError(
      `architecture "${arch}" is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
      'MODEL_UNSUPPORTED_ARCH',
      { file, key: 'general.architecture' },
    );
  }
  const bad = (suffix: string, message: string): never => {
    throw new ModelFileError(`${arch}.${suffix} ${message}`, 'MODEL_BAD_KEY', {
      file,
      key: `${arch}.${suffix}`,
    });
  };
  const num = (suffix: string, fallback?: number): number => {
    const value: GgufValue | undefined = metadata[`${arch}.${suffix}`];
    if (value === undefined && fallback !== undefined) return fallback;
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      return bad(
        suffix,
        value === undefined ? 'is missing' : `must be a number, got ${String(value)}`,
      );
    }
    return n;
  };
  const positive = (suffix: string, fallback?: number): number => {
    const n = num(suffix, fallback);
    if (!Number.isInteger(n) || n <= 0) bad(suffix, `must be a positive integer, got ${n}`);
    return n;
  };
  const hiddenSize = positive('embedding_length');
  const numHeads = positive('attention.head_count');
  const numKvHeads = positive('attention.head_count_kv', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ModelFileError(
      `${arch}.attention.head_count (${numHeads}) must be a multiple of head_count_kv (${numKvHeads})`,
      'MODEL_BAD_KEY',
      { file, key: `${arch}.attention.head_count_kv` },
    );
  }
  const numLayers = positive('block_count');
  const headDim = positive('attention.key_length', hiddenSize / numHeads);
  const contextLength = positive('context_length');
  const tokens = metadata['tokenizer.ggml.tokens'];
  const vocabSize = positive('vocab_size', Array.isArray(tokens) ? tokens.length : undefined);
  const ropeTheta = num('rope.freq_base', 10000);
  const config: ModelConfig = {
    architecture: arch,
    vocabSize,
    hiddenSize,
    intermediateSize: positive('feed_forward_length'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    contextLength,
    rmsNormEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    ropeTheta,
    ropeStyle: GGUF_ROPE_STYLE[arch],
    ropeOriginalContextLength: positive('rope.scaling.original_context_length', contextLength),
    ropeThetaSwa: ropeTheta,
    attentionBias:
      index.tensors.has('blk.0.attn_q.bias') || index.tensors.has('blk.0.attn_qkv.bias'),
    // llama.cpp's gemma2 always reads its output projection from the embeddings.
    tieWordEmbeddings: arch === 'gemma2' || !index.tensors.has('output.weight'),
    ...defaults(arch, numLayers, headDim),
  };
  config.rotaryDim = positive('rope.dimension_count', headDim);
  if (config.rotaryDim > headDim || config.rotaryDim % 2 !== 0) {
    bad(
      'rope.dimension_count',
      `(${config.rotaryDim}) must be even and at most the head size ${headDim}`,
    );
  }
  const scalingType = metadata[`${arch}.rope.scaling.type`] ?? 'linear';
  // llama.cpp reads the factor whatever the type; `none` turns it off.
  const factor = num('rope.scaling.factor', num('rope.scale_linear', 0)) || 1;
  if (scalingType === 'linear' || scalingType === 'yarn') config.ropeLinearScale = factor;
  else if (scalingType !== 'none') {
    bad('rope.scaling.type', `"${String(scalingType)}" is not supported (linear, yarn, none)`);
  }
  const attnFactor = num('rope.scaling.attn_factor', 1);
  config.ropeAttnFactor = attnFactor;
  if (scalingType === 'yarn') {
    config.ropeYarn = {
      originalContextLength: config.ropeOriginalContextLength,
      extFactor: num('rope.scaling.yarn_ext_factor', 1),
      betaFast: num('rope.scaling.yarn_beta_fast', 32),
      betaSlow: num('rope.scaling.yarn_beta_slow', 1),
    };
    // llama.cpp's context sets the magnitude correction and cancels the one ggml's rope applies.
    const logMul = num('rope.scaling.yarn_log_multiplier', 0);
    const mscale =
      logMul !== 0 ? yarnMscale(factor) / yarnMscale(factor, logMul) : yarnMscale(factor);
    config.ropeAttnFactor = (attnFactor * mscale) / (1 + 0.1 * Math.log(factor));
  }
  config.ropeLinearScaleSwa = config.ropeLinearScale;
  if (isGemma(arch)) {
    config.embeddingScale = Math.sqrt(hiddenSize);
    // llama.cpp takes the scale from the layer count: Gemma's 27B models scale by the hidden size
    // per head, the others by the head size (gemma_pytorch's query_pre_attn_scalar).
    const is27b = numLayers === (arch === 'gemma2' ? 46 : 62);
    config.attentionScale = 1 / Math.sqrt(is27b ? hiddenSize / numHeads : headDim);
    const window =
      arch === 'gemma2'
        ? positive('attention.sliding_window', 4096)
        : metadata[`${arch}.attention.sliding_window`] === undefined
          ? 0
          : num('attention.sliding_window');
    if (window > 0) {
      const pattern = metadata[`${arch}.attention.sliding_window_pattern`];
      const slides = Array.isArray(pattern)
        ? numLayersOf(pattern, numLayers, () =>
            bad('attention.sliding_window_pattern', `must hold ${numLayers} booleans`),
          )
        : swaPattern(
            numLayers,
            pattern === undefined
              ? arch === 'gemma2'
                ? 2
                : 6
              : num('attention.sliding_window_pattern'),
          );
      config.layerSlidingWindow = slides.map((s) => (s ? window : 0));
      if (arch === 'gemma2') {
        config.ropeThetaSwa = num('rope.freq_base_swa', ropeTheta);
      } else {
        config.ropeThetaSwa = num('rope.freq_base_swa', 10000);
        config.ropeLinearScaleSwa = 1;
      }
    }
    config.attnLogitSoftcap = arch === 'gemma2' ? num('attn_logit_softcapping', 50) : 0;
    config.finalLogitSoftcap = num('final_logit_softcapping', arch === 'gemma2' ? 30 : 0);
  }
  return config;
}

/** A per-layer boolean array from GGUF metadata. */
function numLayersOf(values: unknown[], numLayers: number, bad: () => never): boolean[] {
  if (values.length !== numLayers || values.some((v) => typeof v !== 'boolean')) bad();
  return values as boolean[];
}

/** Hugging Face `model_type`s and the architecture each maps to. */
const HF_MODEL_TYPES: Record<string, Architecture> = {
  llama: 'llama',
  mistral: 'mistral',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gemma2: 'gemma2',
  gemma3: 'gemma3',
  gemma3_text: 'gemma3',
  phi3: 'phi3',
  smollm3: 'smollm3',
};

/**
 * The model config of a Hugging Face `config.json` (`LlamaForCausalLM`, `MistralForCausalLM`,
 * `Qwen2ForCausalLM`, `Qwen3ForCausalLM`, `Gemma2ForCausalLM`, `Gemma3ForCausalLM` or the text
 * part of `Gemma3ForConditionalGeneration`, `Phi3ForCausalLM`, `SmolLM3ForCausalLM`). Rotary
 * embeddings are `neox` style: safetensors keep Hugging Face's rotate-half layout.
 * @throws ModelFileError `MODEL_UNSUPPORTED_ARCH` or `MODEL_BAD_KEY`, naming the key
 */
export function configFromHf(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null) {
    throw new ModelFileError('expected a JSON object', 'MODEL_CORRUPT', { file });
  }
  let c = json as Record<string, unknown>;
  // Gemma 3's multimodal checkpoints keep the language model's config under text_config.
  if (c.model_type === 'gemma3' && typeof c.text_config === 'object' && c.text_config !== null) {
    c = { model_type: 'gemma3_text', ...(c.text_config as Record<string, unknown>) };
  }
  const arch = HF_MODEL_TYPES[String(c.model_type)];
  if (arch === undefined) {
    throw new ModelFileError(
      `model_type "${String(c.model_type)}" is not supported; supported: ${Object.keys(HF_MODEL_TYPES).join(', ')}`,
      'MODEL_UNSUPPORTED_ARCH',
      { file, key: 'model_type' },
    );
  }
  const bad = (key: string, message: string): never => {
    throw new ModelFileError(`${key} ${message}`, 'MODEL_BAD_KEY', { file, key });
  };
  const num = (key: string, fallback?: number, from: Record<string, unknown> = c): number => {
    const value = from[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return bad(key, from[key] === undefined ? 'is missing' : 'must be a number');
    }
    return value;
  };
  const hiddenSize = num('hidden_size');
  const numLayers = num('num_hidden_layers');
  const numHeads = num('num_attention_heads');
  const headDim = num('head_dim', hiddenSize / numHeads);
  const ropeTheta = num('rope_theta', 10000);
  const contextLength = num('max_position_embeddings', 2048);
  const config: ModelConfig = {
    architecture: arch,
    vocabSize: num('vocab_size'),
    hiddenSize,
    intermediateSize: num('intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads: num('num_key_value_heads', numHeads),
    headDim,
    contextLength,
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeStyle: 'neox',
    ropeOriginalContextLength: contextLength,
    ropeThetaSwa: ropeTheta,
    attentionBias: arch === 'qwen2' || c.attention_bias === true,
    tieWordEmbeddings:
      c.tie_word_embeddings === true || (isGemma(arch) && c.tie_word_embeddings !== false),
    ...defaults(arch, numLayers, headDim),
  };
  config.rotaryDim = Math.floor(headDim * num('partial_rotary_factor', 1)) & ~1;
  const scaling = c.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling) {
    const type = scaling.rope_type ?? scaling.type;
    const factor = num('factor', 1, scaling);
    if (type === 'linear') config.ropeLinearScale = factor;
    else if (type === 'llama3') {
      config.ropeFreqFactors = llama3RopeFreqFactors(config.rotaryDim, ropeTheta, {
        factor,
        lowFreqFactor: num('low_freq_factor', 1, scaling),
        highFreqFactor: num('high_freq_factor', 4, scaling),
        originalContextLength: num('original_max_position_embeddings', 8192, scaling),
      });
    } else if (type === 'yarn') {
      const original = num('original_max_position_embeddings', contextLength / factor, scaling);
      config.ropeLinearScale = factor;
      config.ropeOriginalContextLength = original;
      config.ropeYarn = {
        originalContextLength: original,
        extFactor: 1,
        betaFast: num('beta_fast', 32, scaling),
        betaSlow: num('beta_slow', 1, scaling),
      };
      // Hugging Face's attention_factor, as llama.cpp's context sets it (net of ggml's own).
      config.ropeAttnFactor =
        num('attention_factor', yarnMscale(factor), scaling) / (1 + 0.1 * Math.log(factor));
    } else if (type === 'longrope') {
      const original = num('original_max_position_embeddings', contextLength, scaling);
      const factors = (key: string) => {
        const list = scaling[key];
        if (!Array.isArray(list) || list.length !== config.rotaryDim / 2) {
          bad(`rope_scaling.${key}`, `must hold ${config.rotaryDim / 2} numbers`);
        }
        return Float32Array.from(list as number[]);
      };
      config.ropeFreqFactors = factors('short_factor');
      config.ropeLongFreqFactors = factors('long_factor');
      config.ropeOriginalContextLength = original;
      const scale = contextLength / original;
      config.ropeAttnFactor = scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(original));
    } else if (type !== 'default') {
      bad(
        'rope_scaling',
        `type "${String(type)}" is not supported (linear, llama3, yarn, longrope)`,
      );
    }
  }
  config.ropeLinearScaleSwa = config.ropeLinearScale;
  if (isGemma(arch)) {
    config.embeddingScale = Math.sqrt(hiddenSize);
    config.attentionScale = 1 / Math.sqrt(num('query_pre_attn_scalar', headDim));
    const window = typeof c.sliding_window === 'number' ? c.sliding_window : 0;
    if (window > 0) {
      const types = c.layer_types;
      const slides = Array.isArray(types)
        ? types.map((t) => t === 'sliding_attention')
        : swaPattern(numLayers, num('sliding_window_pattern', arch === 'gemma2' ? 2 : 6));
      config.layerSlidingWindow = slides.map((s) => (s ? window : 0));
    }
    if (arch === 'gemma3') {
      // Gemma 3's local layers turn at their own base, unscaled; rope_scaling is for global ones.
      config.ropeThetaSwa = num('rope_local_base_freq', 10000);
      config.ropeLinearScaleSwa = 1;
    }
    config.attnLogitSoftcap =
      typeof c.attn_logit_softcapping === 'number' ? c.attn_logit_softcapping : 0;
    config.finalLogitSoftcap =
      typeof c.final_logit_softcapping === 'number' ? c.final_logit_softcapping : 0;
  }
  if (arch === 'smollm3') {
    const noRope = c.no_rope_layers;
    if (Array.isArray(noRope)) config.layerRope = noRope.map((v) => v !== 0);
    else {
      const interval = num('no_rope_layer_interval', 4);
      config.layerRope = config.layerRope.map((_, il) => (il + 1) % interval !== 0);
    }
  }
  return config;
}
