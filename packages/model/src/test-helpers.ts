// Shared by this package's tests: small synthetic models, loaded without a tokenizer.
import { bytesSource } from './byte-source.js';
import type { ModelConfig } from './config.js';
import { configFromGguf } from './config-gguf.js';
import { configFromHf } from './config-hf.js';
import { type ForwardBatch, type SamplingParams, sequenceBatch } from './executor.js';
import { readGgufIndex, readGgufTensor } from './gguf/reader.js';
import type { GgufMetadataInput } from './gguf/writer.js';
import { ggufNameOfHfTensor, readSafetensorsIndex, SAFETENSORS_DTYPES } from './safetensors.js';
import { type SyntheticModelOptions, syntheticGguf, syntheticHfModel } from './synthetic.js';
import { loadWeights, type ModelWeights, readF32Vector, type StoredTensor } from './weights.js';

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A vocabulary of `n` made-up tokens, enough for models that are never tokenized. */
export function dummyTokenizer(n: number): Record<string, GgufMetadataInput> {
  return {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.tokens': Array.from({ length: n }, (_, i) => `t${i}`),
  };
}

export const SMALL_LLAMA: SyntheticModelOptions = {
  architecture: 'llama',
  tokenizer: dummyTokenizer(96),
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  seed: 7,
};

export async function ggufModel(
  options: SyntheticModelOptions,
): Promise<{ config: ModelConfig; weights: ModelWeights; bytes: Uint8Array }> {
  const bytes = concat(syntheticGguf(options));
  const source = bytesSource(bytes, 'synthetic.gguf');
  const index = await readGgufIndex(source);
  const config = configFromGguf(index);
  const stored = new Map<string, StoredTensor>();
  for (const info of index.tensors.values()) {
    stored.set(info.name, { ...info, file: source.name, read: () => readGgufTensor(source, info) });
  }
  const ropeFreqs = stored.get('rope_freqs.weight');
  if (ropeFreqs) config.ropeFreqFactors = await readF32Vector(ropeFreqs);
  return { config, weights: await loadWeights(config, stored, source.name), bytes };
}

export async function hfModel(
  options: SyntheticModelOptions,
): Promise<{ config: ModelConfig; weights: ModelWeights }> {
  const files = syntheticHfModel(options);
  const source = bytesSource(concat(files.files.get('model.safetensors')!), 'model.safetensors');
  const index = await readSafetensorsIndex(source);
  const config = configFromHf(files.config);
  const stored = new Map<string, StoredTensor>();
  for (const info of index.tensors.values()) {
    const name = ggufNameOfHfTensor(info.name)!;
    stored.set(name, {
      name,
      file: source.name,
      type: SAFETENSORS_DTYPES[info.dtype],
      shape: [...info.shape].reverse(),
      read: () => source.read(info.offset, info.byteLength),
    });
  }
  return { config, weights: await loadWeights(config, stored, source.name) };
}

/** A batch from per-sequence token runs; greedy sampling unless told otherwise. */
export function makeBatch(
  parts: Array<{
    seqId?: number;
    tokens: number[];
    start: number;
    blockTable: number[];
    sample?: boolean;
    sampling?: SamplingParams;
  }>,
  blockSize = 16,
): ForwardBatch {
  return sequenceBatch(
    ...parts.map((p) => ({
      ...p,
      tokenIds: p.tokens,
      blockSize,
      sampling: p.sampling ?? { temperature: 0 },
    })),
  );
}
