// llama.cpp as the oracle for @x/model's tokenizers: real Llama 2, Llama 3 and Qwen3 vocabularies
// are written into vocabulary-only GGUF files with `ggufTokenizerMetadata`, loaded by llama.cpp
// (node-llama-cpp, `vocabOnly`) and by `Tokenizer.fromGguf`, and must tokenize and detokenize
// alike. `Tokenizer.fromJson` on the original tokenizer.json must give the same ids.
//
// node-llama-cpp's `model.tokenize(text, true)` parses special-token text but never adds BOS
// (it calls llama_tokenize with add_special = false), so it is compared with
// `encode(text, { addSpecialTokens: false })`, and BOS separately through
// `model.tokens.shouldPrependBosToken`. `model.detokenize(ids, special)` is llama_detokenize with
// remove_special = false and unparse_special = special, i.e. `decode(ids, { skipSpecialTokens:
// !special })`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeGguf,
  fileSource,
  type GgufMetadataInput,
  GgufValueType,
  gguf,
  readGgufIndex,
  Tokenizer,
} from '@x/model';
import type { LlamaModel, Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, llamaCpp } from './oracle.js';
import { ALL, CORPUS, FUZZ } from './tokenizer-corpus.js';
import { hfFile, type Name, tokenizerMetadata } from './vocab.js';

/** The smallest hyperparameters of a llama-like architecture, so that loaders find their keys. */
function hyperparameters(arch: string): Record<string, GgufMetadataInput> {
  return {
    'general.architecture': arch,
    'general.name': 'tokenizer oracle',
    [`${arch}.context_length`]: gguf.u32(4096),
    [`${arch}.embedding_length`]: gguf.u32(64),
    [`${arch}.block_count`]: gguf.u32(1),
    [`${arch}.feed_forward_length`]: gguf.u32(128),
    [`${arch}.attention.head_count`]: gguf.u32(4),
    [`${arch}.attention.head_count_kv`]: gguf.u32(4),
    [`${arch}.attention.layer_norm_rms_epsilon`]: gguf.f32(1e-5),
    [`${arch}.rope.dimension_count`]: gguf.u32(16),
  };
}

/** A case: a real vocabulary, written as convert_hf_to_gguf.py would, maybe with changed keys. */
interface Case {
  label: string;
  vocab: Name;
  /** Changes to the tokenizer metadata; the tokenizer.json path is compared only without them. */
  change?: (metadata: Record<string, GgufMetadataInput>) => Record<string, GgufMetadataInput>;
}

/** Scores of a `llama` vocabulary, changed by `f`. */
const scores =
  (f: (score: number, id: number) => number) => (metadata: Record<string, GgufMetadataInput>) => {
    const typed = metadata['tokenizer.ggml.scores'] as { value: number[] };
    return {
      ...metadata,
      'tokenizer.ggml.scores': gguf.array(GgufValueType.FLOAT32, typed.value.map(f)),
    };
  };

const CASES: Case[] = [
  { label: 'llama2', vocab: 'llama2' },
  { label: 'llama3', vocab: 'llama3' },
  { label: 'qwen3', vocab: 'qwen3' },
  // Ties: llama.cpp merges the leftmost of equally scored pairs.
  {
    label: 'llama2, every score -1000 (as gguf-py LlamaHfVocab writes)',
    vocab: 'llama2',
    change: scores(() => -1000),
  },
  {
    label: 'llama2, scores tied in runs of 64 ranks',
    vocab: 'llama2',
    change: scores((s) => Math.floor(s / 64)),
  },
  {
    label: 'llama2, no space prefix, no BOS, EOS added',
    vocab: 'llama2',
    change: (m) => ({
      ...m,
      'tokenizer.ggml.add_space_prefix': gguf.bool(false),
      'tokenizer.ggml.add_bos_token': gguf.bool(false),
      'tokenizer.ggml.add_eos_token': gguf.bool(true),
    }),
  },
  ...[
    'gpt-2',
    'default',
    'smollm',
    'llama-bpe',
    'stablelm2',
    'command-r',
    'tekken',
    'deepseek-coder',
  ].map(
    (pre): Case => ({
      label: `qwen3 vocabulary, pre-tokenizer ${pre}`,
      vocab: 'qwen3',
      change: (m) => ({ ...m, 'tokenizer.ggml.pre': pre }),
    }),
  ),
  {
    label: 'llama3 vocabulary, pre-tokenizer qwen2 (no ignore_merges)',
    vocab: 'llama3',
    change: (m) => ({ ...m, 'tokenizer.ggml.pre': 'qwen2' }),
  },
];

function writeVocabGguf(c: Case, path: string): void {
  const tokenizer = tokenizerMetadata(c.vocab);
  const metadata = {
    ...hyperparameters(c.vocab === 'qwen3' ? 'qwen2' : 'llama'),
    ...(c.change ? c.change(tokenizer) : tokenizer),
  };
  const chunks = encodeGguf({ metadata, tensors: [] });
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  writeFileSync(path, bytes);
}

/** node-llama-cpp brands token ids. */
const asToken = (id: number) => id as Token;

/** The texts whose tokenization differs, with both tokenizations. */
function tokenizationMismatches(
  texts: readonly string[],
  ours: (text: string) => number[],
  theirs: (text: string) => number[],
) {
  return texts.flatMap((text) => {
    const a = ours(text);
    const b = theirs(text);
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ text, ours: a, theirs: b }];
  });
}

describe.each(CASES.map((c) => [c.label, c] as const))('%s', (_, c) => {
  let model: LlamaModel;
  let fromGguf: Tokenizer;
  let fromJson: Tokenizer;
  const original = c.change === undefined;

  beforeAll(async () => {
    const path = join(fixtureDir(), `${c.vocab}-vocab.gguf`);
    writeVocabGguf(c, path);
    model = await (await llamaCpp()).loadModel({ modelPath: path, vocabOnly: true });
    const source = await fileSource(path);
    try {
      fromGguf = Tokenizer.fromGguf((await readGgufIndex(source)).metadata, path);
    } finally {
      await source.close?.();
    }
    fromJson = Tokenizer.fromJson(
      hfFile(c.vocab, 'tokenizer.json'),
      hfFile(c.vocab, 'tokenizer_config.json'),
      `${c.vocab}/tokenizer.json`,
    );
  });

  afterAll(async () => {
    await model?.dispose();
  });

  it('has the BOS, EOS and BOS/EOS policy llama.cpp reads', () => {
    expect(fromGguf.bosTokenId ?? null).toBe(model.tokens.bos);
    expect(fromGguf.eosTokenId ?? null).toBe(model.tokens.eos);
    expect(fromGguf.bosToken ?? null).toBe(model.tokens.bosString);
    expect(fromGguf.eosToken ?? null).toBe(model.tokens.eosString);
    expect(fromGguf.addBosToken).toBe(model.tokens.shouldPrependBosToken);
    expect(fromGguf.addEosToken).toBe(model.tokens.shouldAppendEosToken);
    const ids = fromGguf.encode('Hello world');
    const bos = fromGguf.addBosToken ? [model.tokens.bos] : [];
    const eos = fromGguf.addEosToken ? [model.tokens.eos] : [];
    expect(ids).toEqual([...bos, ...model.tokenize('Hello world', true), ...eos]);
  });

  it('has the end-of-generation set and special-token attributes llama.cpp has', () => {
    const eog: number[] = [];
    const special: number[] = [];
    for (let id = 0; id < fromGguf.vocabSize; id++) {
      if (model.isEogToken(asToken(id))) eog.push(id);
      const attributes = model.getTokenAttributes(asToken(id));
      if (attributes.control || attributes.unknown) special.push(id);
    }
    expect(fromGguf.stopTokenIds).toEqual(eog);
    const ours = [];
    for (let id = 0; id < fromGguf.vocabSize; id++) if (fromGguf.isSpecial(id)) ours.push(id);
    expect(ours).toEqual(special);
    if (original) {
      expect(fromJson.stopTokenIds).toEqual(eog);
      const json = [];
      for (let id = 0; id < fromJson.vocabSize; id++) if (fromJson.isSpecial(id)) json.push(id);
      expect(json).toEqual(special);
    }
  });

  it(`tokenizes ${CORPUS.length} corpus texts and ${FUZZ.length} random ones as llama.cpp does`, () => {
    const ours = (text: string) => fromGguf.encode(text, { addSpecialTokens: false });
    expect(tokenizationMismatches(ALL, ours, (text) => model.tokenize(text, true))).toEqual([]);
  });

  it('detokenizes as llama.cpp does, with and without special tokens, BOS first or not', () => {
    for (const text of ALL) {
      const ids = model.tokenize(text, true);
      for (const prefixed of [ids, [model.tokens.bos ?? asToken(1), ...ids]]) {
        const label = JSON.stringify({ text, prefixed });
        expect(fromGguf.decode(prefixed), label).toBe(model.detokenize(prefixed, true));
        expect(fromGguf.decode(prefixed, { skipSpecialTokens: true }), label).toBe(
          model.detokenize(prefixed, false),
        );
      }
    }
  });

  it('detokenizes every single token as llama.cpp does, from the GGUF file', () => {
    // Includes Llama 2's token 31759, a lone U+FEFF, which a default TextDecoder would drop.
    const mismatches: number[] = [];
    for (let id = 0; id < fromGguf.vocabSize; id++) {
      if (fromGguf.decode([id]) !== model.detokenize([asToken(id)], true)) mismatches.push(id);
    }
    expect(mismatches).toEqual([]);
  });

  it('streams the decode to the same text, token by token', () => {
    for (const text of ALL) {
      const ids = model.tokenize(text, true);
      for (const skipSpecialTokens of [false, true]) {
        const stream = fromGguf.createDecodeStream({ skipSpecialTokens });
        const streamed = ids.map((id) => stream.push(id)).join('') + stream.flush();
        expect(streamed, JSON.stringify(text)).toBe(model.detokenize(ids, !skipSpecialTokens));
      }
    }
  });

  // The variants change only the GGUF metadata; tokenizer.json is checked on the originals.
  if (original) {
    it('gives the same ids from tokenizer.json as from the GGUF file', () => {
      // The tokenizer.json paths of Qwen3 normalizes to NFC, llama.cpp does not: compare on NFC text.
      const texts = ALL.filter((text) => text.normalize('NFC') === text);
      const json = (text: string) => fromJson.encode(text, { addSpecialTokens: false });
      const ggufIds = (text: string) => fromGguf.encode(text, { addSpecialTokens: false });
      expect(tokenizationMismatches(texts, json, ggufIds)).toEqual([]);
    });

    it('decodes from tokenizer.json as llama.cpp does', () => {
      for (const text of ALL) {
        const ids = model.tokenize(text, true);
        expect(fromJson.decode(ids), JSON.stringify(text)).toBe(model.detokenize(ids, true));
        expect(fromJson.decode(ids, { skipSpecialTokens: true }), JSON.stringify(text)).toBe(
          model.detokenize(ids, false),
        );
      }
    });

    it('detokenizes every single token as llama.cpp does, from tokenizer.json', () => {
      const mismatches: number[] = [];
      for (let id = 0; id < fromJson.vocabSize; id++) {
        if (fromJson.decode([id]) !== model.detokenize([asToken(id)], true)) mismatches.push(id);
      }
      expect(mismatches).toEqual([]);
    });
  }
});
