// A model config from GGUF metadata, as llama.cpp's `load_hparams` reads it.
import {
  type Architecture,
  configDefaults,
  isArchitecture,
  isGemma,
  type ModelConfig,
  type RopeStyle,
  SUPPORTED_ARCHITECTURES,
  swaPattern,
  yarnMscale,
} from './config.js';
import { ModelFileError } from './errors.js';
import type { GgufIndex, GgufValue } from './gguf/types.js';

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
    ...configDefaults(arch, numLayers, headDim),
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
