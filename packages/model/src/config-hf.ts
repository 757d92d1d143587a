// A model config from a Hugging Face config.json.
import {
  type Architecture,
  configDefaults,
  isGemma,
  llama3RopeFreqFactors,
  type ModelConfig,
  swaPattern,
  yarnMscale,
} from './config.js';
import { ModelFileError } from './errors.js';

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
    ...configDefaults(arch, numLayers, headDim),
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
