import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { GgmlType, loadModel, type Model, ReferenceExecutor, sequenceBatch } from '@x/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoModelInfo, demoModelPath } from './index.js';

// What tools/demo-model recorded for the shipped file (README.md, "Sample").
const PROMPT = 'In the beginning';
const PROMPT_IDS = [1, 1021, 261, 2241];
const CONTINUATION =
  'of the LORD came the word of the LORD, and the God of Israel came unto me, and said, The LORD ' +
  'hath given me the God of Israel to';
// SentencePiece's own ids (train.py's tokenizer.model) for text outside the corpus's alphabet.
const ODD_TEXT = 'Verily, 42 héros  said: "日本語 🙂"\n\tAmen.';
const ODD_IDS = [
  1, 2472, 4049, 4034, 55, 53, 265, 198, 172, 2268, 4034, 390, 4061, 4034, 37, 233, 154, 168, 233,
  159, 175, 235, 173, 161, 4034, 243, 162, 156, 133, 37, 13, 12, 4059, 1530, 4057,
];

const GREEDY = { temperature: 0 };

/** `count` greedy tokens after `ids` by the reference executor, stopping at end of generation. */
async function greedy(model: Model, ids: number[], count: number): Promise<number[]> {
  const blockSize = 16;
  const numBlocks = Math.ceil((ids.length + count) / blockSize);
  const exec = new ReferenceExecutor(model, { numBlocks, blockSize });
  const blockTable = Array.from({ length: numBlocks }, (_, i) => i);
  const out: number[] = [];
  let next = ids;
  for (let start = 0; out.length < count; ) {
    // Temperature 0: `execute` samples at temperature 1 unless told otherwise.
    const batch = sequenceBatch({ tokenIds: next, start, blockTable, blockSize, sampling: GREEDY });
    const [token] = (await exec.execute(batch)).tokens;
    if (model.tokenizer.stopTokenIds.includes(token!)) break;
    out.push(token!);
    start += next.length;
    next = [token!];
  }
  await exec.dispose();
  return out;
}

describe('@x/demo-model', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(demoModelPath);
  });

  it('ships its GGUF file at demoModelPath, under 20 MB', () => {
    expect(isAbsolute(demoModelPath)).toBe(true);
    expect(demoModelPath.endsWith(demoModelInfo.file)).toBe(true);
    const { size } = statSync(demoModelPath);
    expect(size).toBeGreaterThan(4_000_000);
    expect(size).toBeLessThan(20_000_000);
  });

  it('is the llama it was trained as: 6 layers of 256, 8 heads over 2 KV heads, tied embeddings', () => {
    expect(model.config).toMatchObject({
      architecture: 'llama',
      vocabSize: demoModelInfo.vocabSize,
      hiddenSize: 256,
      intermediateSize: 768,
      numLayers: 6,
      numHeads: 8,
      numKvHeads: 2,
      headDim: 32,
      contextLength: demoModelInfo.contextLength,
      ropeTheta: 10000,
      ropeStyle: 'interleaved',
      attentionBias: false,
      tieWordEmbeddings: true,
    });
    expect(model.config.rmsNormEps).toBeCloseTo(1e-5, 10);
  });

  it('holds demoModelInfo.parameters weights, matrices in Q8_0 and norms in F32', () => {
    const tensors = [...model.gguf!.tensors.values()];
    const parameters = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(parameters).toBe(demoModelInfo.parameters);
    for (const t of tensors) {
      expect(t.type, t.name).toBe(t.shape.length === 2 ? GgmlType.Q8_0 : GgmlType.F32);
    }
    expect(model.gguf!.tensors.has('output.weight')).toBe(false);
    expect(model.gguf!.metadata['general.name']).toBe(demoModelInfo.name);
  });

  it('tokenizes as its SentencePiece model, with byte fallback for what the corpus lacks', () => {
    const { tokenizer } = model;
    expect(tokenizer.encode(PROMPT)).toEqual(PROMPT_IDS); // <s> ▁In ▁the ▁beginning
    expect(tokenizer.encode(ODD_TEXT)).toEqual(ODD_IDS);
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    // The space SentencePiece prefixed goes when decoding from the first token; llama.cpp (and
    // @x/model) keep it when a BOS comes first.
    expect(tokenizer.decode(ODD_IDS.slice(1))).toBe(ODD_TEXT);
  });

  it('continues "In the beginning" greedily with the text recorded when it was trained', async () => {
    const tokens = await greedy(model, model.tokenizer.encode(PROMPT), 32);
    const text = model.tokenizer.decode(tokens, { skipSpecialTokens: true });
    expect(text).toBe(CONTINUATION);
    // Readable English: letters, spaces and the KJV's punctuation, nothing else.
    expect(text).toMatch(/^[A-Za-z ,.;:'?!()-]+$/);
    expect(text.split(' ').length).toBeGreaterThan(15);
  });
});
