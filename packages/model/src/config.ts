import { ModelFileError } from './errors.js';
import type { GgufIndex, GgufValue } from './gguf/types.js';

/** Architectures the reference executor runs. */
export const SUPPORTED_ARCHITECTURES = ['llama', 'qwen2', 'mistral'] as const;

/** An architecture xinfer runs. `mistral` is `llama` with its own name. */
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/**
 * How rotary embeddings pair dimensions. `interleaved` rotates (x[2i], x[2i+1]) — llama.cpp's
 * `LLAMA_ROPE_TYPE_NORM`, used by GGUF `llama` files, whose converter permutes Q and K rows for
 * it. `neox` rotates (x[i], x[i + d/2]) — Hugging Face's `rotate_half`, used by safetensors and by
 * GGUF `qwen2`.
 */
export type RopeStyle = 'interleaved' | 'neox';

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
  /** Linear position scaling (`rope.scaling.type = linear`): positions are divided by it. Default 1. */
  ropeLinearScale: number;
  /**
   * Per-frequency divisors of the rotary angle (Llama 3 rope scaling), `headDim / 2` of them, or
   * undefined. GGUF stores them as the `rope_freqs.weight` tensor.
   */
  ropeFreqFactors: Float32Array | undefined;
  /** Q, K and V projections have biases (`qwen2`). */
  attentionBias: boolean;
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

/**
 * The model config a GGUF file's metadata describes (`{arch}.embedding_length` and friends).
 * Rope frequency factors come from the `rope_freqs.weight` tensor and are filled in by the loader.
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
  const num = (suffix: string, fallback?: number): number => {
    const key = `${arch}.${suffix}`;
    const value: GgufValue | undefined = metadata[key];
    if (value === undefined && fallback !== undefined) return fallback;
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw new ModelFileError(
        value === undefined ? `${key} is missing` : `${key} must be a number, got ${String(value)}`,
        'MODEL_BAD_KEY',
        { file, key },
      );
    }
    return n;
  };
  const positive = (suffix: string, fallback?: number): number => {
    const n = num(suffix, fallback);
    if (!Number.isInteger(n) || n <= 0) {
      throw new ModelFileError(
        `${arch}.${suffix} must be a positive integer, got ${n}`,
        'MODEL_BAD_KEY',
        {
          file,
          key: `${arch}.${suffix}`,
        },
      );
    }
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
  const headDim = positive('attention.key_length', hiddenSize / numHeads);
  const tokens = metadata['tokenizer.ggml.tokens'];
  const vocabSize = positive('vocab_size', Array.isArray(tokens) ? tokens.length : undefined);
  const scalingType = metadata[`${arch}.rope.scaling.type`];
  let ropeLinearScale = 1;
  if (scalingType === 'linear') ropeLinearScale = num('rope.scaling.factor', 1);
  else if (scalingType !== undefined && scalingType !== 'none') {
    throw new ModelFileError(
      `rope scaling "${String(scalingType)}" is not supported`,
      'MODEL_BAD_KEY',
      {
        file,
        key: `${arch}.rope.scaling.type`,
      },
    );
  }
  return {
    architecture: arch,
    vocabSize,
    hiddenSize,
    intermediateSize: positive('feed_forward_length'),
    numLayers: positive('block_count'),
    numHeads,
    numKvHeads,
    headDim,
    contextLength: positive('context_length'),
    rmsNormEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    ropeTheta: num('rope.freq_base', 10000),
    ropeStyle: arch === 'qwen2' ? 'neox' : 'interleaved',
    ropeLinearScale,
    ropeFreqFactors: undefined,
    attentionBias: index.tensors.has('blk.0.attn_q.bias'),
    tieWordEmbeddings: !index.tensors.has('output.weight'),
  };
}

/**
 * The model config of a Hugging Face `config.json` (`LlamaForCausalLM`, `Qwen2ForCausalLM`,
 * `MistralForCausalLM`).
 * @throws ModelFileError `MODEL_UNSUPPORTED_ARCH` or `MODEL_BAD_KEY`, naming the key
 */
export function configFromHf(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null) {
    throw new ModelFileError('expected a JSON object', 'MODEL_CORRUPT', { file });
  }
  const c = json as Record<string, unknown>;
  const arch = c.model_type;
  if (!isArchitecture(arch)) {
    throw new ModelFileError(
      `model_type "${String(arch)}" is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
      'MODEL_UNSUPPORTED_ARCH',
      { file, key: 'model_type' },
    );
  }
  const num = (key: string, fallback?: number): number => {
    const value = c[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ModelFileError(
        c[key] === undefined ? `${key} is missing` : `${key} must be a number`,
        'MODEL_BAD_KEY',
        { file, key },
      );
    }
    return value;
  };
  const hiddenSize = num('hidden_size');
  const numHeads = num('num_attention_heads');
  const headDim = num('head_dim', hiddenSize / numHeads);
  const ropeTheta = num('rope_theta', 10000);
  let ropeLinearScale = 1;
  let ropeFreqFactors: Float32Array | undefined;
  const scaling = c.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling) {
    const type = scaling.rope_type ?? scaling.type;
    const factor = Number(scaling.factor ?? 1);
    if (type === 'linear') ropeLinearScale = factor;
    else if (type === 'llama3') {
      ropeFreqFactors = llama3RopeFreqFactors(headDim, ropeTheta, {
        factor,
        lowFreqFactor: Number(scaling.low_freq_factor ?? 1),
        highFreqFactor: Number(scaling.high_freq_factor ?? 4),
        originalContextLength: Number(scaling.original_max_position_embeddings ?? 8192),
      });
    } else if (type !== 'default') {
      throw new ModelFileError(
        `rope_scaling type "${String(type)}" is not supported`,
        'MODEL_BAD_KEY',
        {
          file,
          key: 'rope_scaling',
        },
      );
    }
  }
  return {
    architecture: arch,
    vocabSize: num('vocab_size'),
    hiddenSize,
    intermediateSize: num('intermediate_size'),
    numLayers: num('num_hidden_layers'),
    numHeads,
    numKvHeads: num('num_key_value_heads', numHeads),
    headDim,
    contextLength: num('max_position_embeddings', 2048),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeStyle: 'neox',
    ropeLinearScale,
    ropeFreqFactors,
    attentionBias: arch === 'qwen2' || c.attention_bias === true,
    tieWordEmbeddings: c.tie_word_embeddings === true,
  };
}
