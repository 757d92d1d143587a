import type { ByteSource } from './byte-source.js';
import { ChatTemplate } from './chat-template.js';
import type { ModelConfig } from './config.js';
import { configFromGguf } from './config-gguf.js';
import { configFromHf } from './config-hf.js';
import { ModelFileError } from './errors.js';
import { ggufSlabReader, readGgufIndex } from './gguf/reader.js';
import type { GgufIndex } from './gguf/types.js';
import {
  ggufNameOfHfTensor,
  readSafetensorsIndex,
  SAFETENSORS_DTYPES,
  type SafetensorsIndex,
} from './safetensors.js';
import { Tokenizer } from './tokenizer/index.js';
import { loadWeights, type ModelWeights, readF32Vector, type StoredTensor } from './weights.js';

/** A model ready to run: config, weights in their file types, tokenizer and chat template. */
export interface Model {
  /** The file or directory it came from. */
  name: string;
  format: 'gguf' | 'safetensors';
  config: ModelConfig;
  weights: ModelWeights;
  tokenizer: Tokenizer;
  /** The model's chat template, when it has one. */
  chatTemplate: ChatTemplate | undefined;
  /** GGUF metadata (GGUF files only). */
  gguf: GgufIndex | undefined;
}

/**
 * Loads a GGUF model: header, config, tokenizer and chat template from the metadata, then each
 * weight in its stored type (a buffer per tensor; the file is never copied whole). Everything is
 * checked before any tensor is read.
 * @throws ModelFileError naming the file and the key or tensor at fault
 */
export async function loadGgufModel(source: ByteSource): Promise<Model> {
  const index = await readGgufIndex(source);
  const config = configFromGguf(index);
  const tokenizer = Tokenizer.fromGguf(index.metadata, source.name);
  const template = index.metadata['tokenizer.chat_template'];
  const stored = new Map<string, StoredTensor>();
  const readTensor = ggufSlabReader(source, index.tensors.values());
  for (const info of index.tensors.values()) {
    stored.set(info.name, {
      name: info.name,
      file: source.name,
      type: info.type,
      shape: info.shape,
      read: () => readTensor(info),
    });
  }
  // Rope frequency factors: Llama 3's `rope_freqs`, Phi-3 LongRoPE's short and long factors.
  const factorTensors = [
    'rope_freqs.weight',
    'rope_factors_short.weight',
    'rope_factors_long.weight',
  ];
  for (const name of factorTensors) {
    const t = stored.get(name);
    if (t && (t.shape.length !== 1 || t.shape[0] !== config.rotaryDim / 2)) {
      throw new ModelFileError(
        `tensor ${name} has shape [${t.shape.join(', ')}], expected [${config.rotaryDim / 2}]`,
        'MODEL_BAD_SHAPE',
        { file: source.name, tensor: name },
      );
    }
  }
  const weights = await loadWeights(config, stored, source.name);
  const factors = (name: string) => {
    const t = stored.get(name);
    return t ? readF32Vector(t) : undefined;
  };
  config.ropeFreqFactors =
    (await factors('rope_freqs.weight')) ?? (await factors('rope_factors_short.weight'));
  config.ropeLongFreqFactors = await factors('rope_factors_long.weight');
  return {
    name: source.name,
    format: 'gguf',
    config,
    weights,
    tokenizer,
    chatTemplate: typeof template === 'string' ? new ChatTemplate(template) : undefined,
    gguf: index,
  };
}

/** The files of a Hugging Face model directory, already opened. */
export interface HfModelFiles {
  /** A name for messages (the directory). */
  name: string;
  /** Parsed `config.json`. */
  config: unknown;
  /** Parsed `tokenizer.json`. */
  tokenizer: unknown;
  /** Parsed `tokenizer_config.json`, if present. */
  tokenizerConfig?: unknown;
  /** Every `*.safetensors` file of the model (one, or the shards the index file lists). */
  safetensors: readonly ByteSource[];
}

/**
 * Loads a Hugging Face model (`config.json`, safetensors, `tokenizer.json`). Weights keep their
 * F32/F16/BF16 type.
 * @throws ModelFileError naming the file and the key or tensor at fault
 */
export async function loadHfModel(files: HfModelFiles): Promise<Model> {
  const config = configFromHf(files.config, `${files.name}/config.json`);
  if (files.tokenizer === undefined) {
    throw new ModelFileError('no tokenizer.json', 'MODEL_BAD_TOKENIZER', { file: files.name });
  }
  const tokenizer = Tokenizer.fromJson(
    files.tokenizer,
    files.tokenizerConfig,
    `${files.name}/tokenizer.json`,
  );
  const indexes: SafetensorsIndex[] = [];
  for (const source of files.safetensors) indexes.push(await readSafetensorsIndex(source));
  const stored = new Map<string, StoredTensor>();
  for (const [i, index] of indexes.entries()) {
    const source = files.safetensors[i] as ByteSource;
    for (const info of index.tensors.values()) {
      const name = ggufNameOfHfTensor(info.name, config.architecture);
      if (name === undefined) continue;
      stored.set(name, {
        name,
        file: index.file,
        type: SAFETENSORS_DTYPES[info.dtype],
        shape: [...info.shape].reverse(),
        read: async () => {
          const bytes = await source.read(info.offset, info.byteLength);
          if (bytes.byteLength !== info.byteLength) {
            throw new ModelFileError(`tensor ${info.name}: short read`, 'MODEL_TRUNCATED', {
              file: index.file,
              tensor: info.name,
            });
          }
          return bytes;
        },
      });
    }
  }
  if (!config.tieWordEmbeddings && !stored.has('output.weight')) config.tieWordEmbeddings = true;
  const weights = await loadWeights(config, stored, files.name);
  // Gemma's RMSNorm multiplies by (1 + w); llama.cpp's converter stores 1 + w, and so do we.
  if (config.architecture === 'gemma2' || config.architecture === 'gemma3') {
    const plusOne = (w: Float32Array | undefined) =>
      w?.forEach((v, i) => {
        w[i] = v + 1;
      });
    plusOne(weights.outputNorm);
    for (const layer of weights.layers) {
      for (const w of [
        layer.attnNorm,
        layer.ffnNorm,
        layer.postAttnNorm,
        layer.postFfnNorm,
        layer.qNorm,
        layer.kNorm,
      ]) {
        plusOne(w);
      }
    }
  }
  const template = tokenizer.chatTemplate;
  return {
    name: files.name,
    format: 'safetensors',
    config,
    weights,
    tokenizer,
    chatTemplate: template === undefined ? undefined : new ChatTemplate(template),
    gguf: undefined,
  };
}
