import { describe, expect, it } from 'vitest';
import { bytesSource } from './byte-source.js';
import { llama3RopeFreqFactors } from './config.js';
import { configFromGguf } from './config-gguf.js';
import { configFromHf } from './config-hf.js';
import { ModelFileError } from './errors.js';
import { readGgufIndex } from './gguf/reader.js';
import { encodeGguf, gguf } from './gguf/writer.js';
import { syntheticGguf, syntheticHfModel } from './synthetic.js';
import { concat, SMALL_LLAMA } from './test-helpers.js';

async function indexOf(metadata: Parameters<typeof encodeGguf>[0]['metadata']) {
  return readGgufIndex(bytesSource(concat(encodeGguf({ metadata, tensors: [] })), 'm.gguf'));
}

describe('model config', () => {
  it('reads llama hyperparameters from GGUF metadata, GQA included', async () => {
    const index = await readGgufIndex(bytesSource(concat(syntheticGguf(SMALL_LLAMA))));
    expect(configFromGguf(index)).toMatchObject({
      architecture: 'llama',
      vocabSize: 96,
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      ropeStyle: 'interleaved',
      attentionBias: false,
      tieWordEmbeddings: false,
    });
  });

  it('reads qwen2 with QKV bias and neox rope, and the same config from config.json', async () => {
    const options = { ...SMALL_LLAMA, architecture: 'qwen2' as const };
    const fromGguf = configFromGguf(
      await readGgufIndex(bytesSource(concat(syntheticGguf(options)))),
    );
    const fromHf = configFromHf(syntheticHfModel(options).config);
    expect(fromGguf).toMatchObject({
      architecture: 'qwen2',
      ropeStyle: 'neox',
      attentionBias: true,
    });
    expect({ ...fromHf, ropeStyle: 'neox' }).toEqual({
      ...fromGguf,
      rmsNormEps: fromHf.rmsNormEps,
    });
  });

  it('computes Llama 3 rope factors as llama.cpp converts them', () => {
    const f = llama3RopeFreqFactors(128, 500000, {
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalContextLength: 8192,
    });
    expect(f).toHaveLength(64);
    expect(f[0]).toBe(1); // high frequencies unscaled
    expect(f[63]).toBe(8); // low frequencies scaled by the factor
    expect(f[32]! > 1 && f[32]! < 8).toBe(true); // smooth in between
  });

  it('names the key that is missing, mistyped or unsupported', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{}, 'general.architecture', 'MODEL_BAD_KEY'],
      [{ 'general.architecture': 'gpt-neox' }, 'general.architecture', 'MODEL_UNSUPPORTED_ARCH'],
      [{ 'general.architecture': 'llama' }, 'llama.embedding_length', 'MODEL_BAD_KEY'],
      [
        { 'general.architecture': 'llama', 'llama.embedding_length': 'wide' },
        'llama.embedding_length',
        'MODEL_BAD_KEY',
      ],
    ];
    for (const [metadata, key, code] of cases) {
      const index = await indexOf(metadata as never);
      const error = (() => {
        try {
          configFromGguf(index);
        } catch (e) {
          return e as ModelFileError;
        }
      })();
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error).toMatchObject({ key, code, file: 'm.gguf' });
    }
    const bad = await indexOf({
      'general.architecture': 'llama',
      'llama.embedding_length': 48,
      'llama.attention.head_count': 6,
      'llama.attention.head_count_kv': 4,
      'llama.feed_forward_length': gguf.u32(1),
    });
    expect(() => configFromGguf(bad)).toThrow(
      /head_count \(6\) must be a multiple of head_count_kv \(4\)/,
    );
    expect(() => configFromHf({ model_type: 'bert' })).toThrow(
      'model_type "bert" is not supported',
    );
  });
});
