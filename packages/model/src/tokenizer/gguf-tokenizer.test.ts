import { beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../errors.js';
import type { GgufValue } from '../gguf/types.js';
import { CORPUS, hfFiles, type VocabularyName, vocabGgufMetadata } from './test-helpers.js';
import { ggufTokenizerMetadata } from './to-gguf.js';
import { TokenType } from './token-type.js';
import { Tokenizer } from './tokenizer.js';

const NAMES = ['llama2', 'llama3', 'qwen3'] as const;
const metadata = new Map<VocabularyName, Record<string, GgufValue>>();
const fromGguf = new Map<VocabularyName, Tokenizer>();
const fromJson = new Map<VocabularyName, Tokenizer>();

beforeAll(async () => {
  for (const name of NAMES) {
    const md = await vocabGgufMetadata(name);
    metadata.set(name, md);
    fromGguf.set(name, Tokenizer.fromGguf(md, `${name}.gguf`));
    const { tokenizerJson, tokenizerConfig } = hfFiles(name);
    fromJson.set(name, Tokenizer.fromJson(tokenizerJson, tokenizerConfig));
  }
  // Writing, reading and building three real vocabularies twice takes seconds each.
}, 120_000);

const gguf = (name: VocabularyName) => fromGguf.get(name) as Tokenizer;
const json = (name: VocabularyName) => fromJson.get(name) as Tokenizer;
const md = (name: VocabularyName) => metadata.get(name) as Record<string, GgufValue>;

describe('ggufTokenizerMetadata', () => {
  it('writes byte-level BPE vocabularies as gpt2 with merges and the pre-tokenizer', () => {
    expect(md('llama3')['tokenizer.ggml.model']).toBe('gpt2');
    expect(md('llama3')['tokenizer.ggml.pre']).toBe('llama-bpe');
    expect(md('qwen3')['tokenizer.ggml.pre']).toBe('qwen2');
    expect((md('llama3')['tokenizer.ggml.tokens'] as string[]).length).toBe(128256);
    expect((md('llama3')['tokenizer.ggml.merges'] as string[])[0]).toBe('Ġ Ġ');
    expect((md('qwen3')['tokenizer.ggml.merges'] as string[])[0]).toBe('Ġ Ġ');
    const types = md('llama3')['tokenizer.ggml.token_type'] as number[];
    expect([types[0], types[128000], types[128009]]).toEqual([
      TokenType.NORMAL,
      TokenType.CONTROL,
      TokenType.CONTROL,
    ]);
    expect(md('llama3')['tokenizer.ggml.bos_token_id']).toBe(128000);
    expect(md('llama3')['tokenizer.ggml.eos_token_id']).toBe(128001);
    expect(md('llama3')['tokenizer.ggml.add_bos_token']).toBeUndefined();
    expect(md('llama3')['tokenizer.chat_template']).toBe(
      hfFiles('llama3').tokenizerConfig.chat_template,
    );
    expect(md('qwen3')['tokenizer.ggml.eos_token_id']).toBe(151645);
    expect(md('qwen3')['tokenizer.ggml.padding_token_id']).toBe(151643);
    expect(md('qwen3')['tokenizer.ggml.add_bos_token']).toBe(false);
    // Added tokens that are not special are user-defined, unless they look special.
    const qwenTypes = md('qwen3')['tokenizer.ggml.token_type'] as number[];
    const qwenTokens = md('qwen3')['tokenizer.ggml.tokens'] as string[];
    expect(qwenTypes[qwenTokens.indexOf('<think>')]).toBe(TokenType.USER_DEFINED);
    expect(qwenTypes[qwenTokens.indexOf('<|fim_prefix|>')]).toBe(TokenType.CONTROL);
  });

  it('writes Llama 2 as a llama vocabulary scored by merge rank, with byte tokens', () => {
    const m = md('llama2');
    expect(m['tokenizer.ggml.model']).toBe('llama');
    expect(m['tokenizer.ggml.merges']).toBeUndefined();
    const tokens = m['tokenizer.ggml.tokens'] as string[];
    const scores = m['tokenizer.ggml.scores'] as number[];
    const types = m['tokenizer.ggml.token_type'] as number[];
    expect(types.slice(0, 4)).toEqual([
      TokenType.CONTROL,
      TokenType.CONTROL,
      TokenType.CONTROL,
      TokenType.BYTE,
    ]);
    const merges = hfFiles('llama2').tokenizerJson.model as { merges: string[] };
    const first = (merges.merges[0] as string).replace(' ', '');
    expect(scores[tokens.indexOf(first)]).toBe(-0);
    expect(scores[tokens.indexOf(first)]).toBeGreaterThan(scores[tokens.indexOf('▁the')] as number);
    expect([m['tokenizer.ggml.bos_token_id'], m['tokenizer.ggml.eos_token_id']]).toEqual([1, 2]);
    expect([m['tokenizer.ggml.add_bos_token'], m['tokenizer.ggml.add_eos_token']]).toEqual([
      true,
      false,
    ]);
  });

  it('pads to the model config vocab_size and takes ids the tokenizer config does not name', () => {
    const { tokenizerJson, tokenizerConfig } = hfFiles('qwen3');
    const out = ggufTokenizerMetadata(tokenizerJson, tokenizerConfig, {
      modelConfig: { vocab_size: 151936, bos_token_id: 151643 },
    });
    const tokens = out['tokenizer.ggml.tokens'] as string[];
    expect(tokens).toHaveLength(151936);
    expect(tokens.at(-1)).toBe('[PAD151935]');
    expect(out['tokenizer.ggml.bos_token_id']).toMatchObject({ value: 151643 });
  });

  it('fails with MODEL_BAD_TOKENIZER for vocabularies llama.cpp could not read', () => {
    const { tokenizerJson } = hfFiles('llama3');
    const expectBad = (f: () => unknown, key: string) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(ModelFileError);
        expect((error as ModelFileError).code).toBe('MODEL_BAD_TOKENIZER');
        expect((error as ModelFileError).key).toBe(key);
        return;
      }
      throw new Error('no error');
    };
    expectBad(() => ggufTokenizerMetadata({ model: { type: 'Unigram', vocab: [] } }), 'model.type');
    const oddPre = { ...tokenizerJson, pre_tokenizer: { type: 'Whitespace' } };
    expectBad(() => ggufTokenizerMetadata(oddPre), 'pre_tokenizer');
    expectBad(
      () => ggufTokenizerMetadata(tokenizerJson, {}, { pre: 'not-a-pre' }),
      'pre_tokenizer',
    );
    // Naming the pre-tokenizer is the way out.
    expect(ggufTokenizerMetadata(oddPre, {}, { pre: 'llama-bpe' })['tokenizer.ggml.pre']).toBe(
      'llama-bpe',
    );
  });
});

describe('Tokenizer.fromGguf', () => {
  it.each(NAMES)('%s: tokenizes as the tokenizer.json does', (name) => {
    for (const text of CORPUS) {
      expect(gguf(name).encode(text, { addSpecialTokens: false }), JSON.stringify(text)).toEqual(
        json(name).encode(text, { addSpecialTokens: false }),
      );
      const ids = json(name).encode(text, { addSpecialTokens: false });
      expect(gguf(name).decode(ids), JSON.stringify(text)).toBe(json(name).decode(ids));
    }
    expect(gguf(name).vocabSize).toBe(json(name).vocabSize);
    expect(gguf(name).stopTokenIds).toEqual(json(name).stopTokenIds);
    expect(gguf(name).eosTokenId).toBe(json(name).eosTokenId);
    expect(gguf(name).chatTemplate).toBe(json(name).chatTemplate);
  });

  it('adds BOS where llama.cpp does: SentencePiece and llama-bpe unless told otherwise', () => {
    expect(gguf('llama2').encode('Hi')[0]).toBe(1);
    // convert_hf_to_gguf.py writes no add_bos_token for this Llama 3 tokenizer; llama.cpp then
    // adds BOS for "llama-bpe", though the tokenizer.json does not.
    expect(gguf('llama3').addBosToken).toBe(true);
    expect(gguf('llama3').encode('Hi')[0]).toBe(128000);
    expect(json('llama3').addBosToken).toBe(false);
    expect(gguf('qwen3').addBosToken).toBe(false);
    // llama.cpp's fallback BOS for BPE (token 11, ",") is a normal token: no BOS.
    expect(gguf('qwen3').bosTokenId).toBeUndefined();
  });

  const base = (): Record<string, GgufValue> => ({
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'gpt-2',
    'tokenizer.ggml.tokens': ['a', 'b', 'ab', '<|end|>'],
    'tokenizer.ggml.token_type': [1, 1, 1, 3],
    'tokenizer.ggml.merges': ['a b'],
    'tokenizer.ggml.eos_token_id': 3,
  });

  it('reads a minimal gpt2 vocabulary', () => {
    const t = Tokenizer.fromGguf(base());
    expect(t.encode('abab<|end|>')).toEqual([2, 2, 3]);
    expect(t.stopTokenIds).toEqual([3]);
    expect(t.decode([2, 3], { skipSpecialTokens: true })).toBe('ab');
    expect(t.eosToken).toBe('<|end|>');
  });

  it("splits words where Mistral's tekken pre-tokenizer does: at a turn from lower to upper case", () => {
    // 'aB' is a token, but tekken splits "aB" into "a" and "B" before merges; gpt-2 does not.
    const vocab = (pre: string) =>
      Tokenizer.fromGguf({
        ...base(),
        'tokenizer.ggml.pre': pre,
        'tokenizer.ggml.tokens': ['a', 'B', 'aB', '<|end|>'],
        'tokenizer.ggml.merges': ['a B'],
      });
    expect(vocab('gpt-2').encode('aB', { addSpecialTokens: false })).toEqual([2]);
    expect(vocab('tekken').encode('aB', { addSpecialTokens: false })).toEqual([0, 1]);
  });

  it.each([
    ['tokenizer.ggml.model', undefined, /tokenizer\.ggml\.model: missing/],
    ['tokenizer.ggml.model', 'bert', /"bert" is not supported/],
    ['tokenizer.ggml.model', 7, /expected a string/],
    ['tokenizer.ggml.tokens', undefined, /tokenizer\.ggml\.tokens: missing/],
    ['tokenizer.ggml.tokens', [], /empty/],
    ['tokenizer.ggml.tokens', [1, 2], /array of strings/],
    ['tokenizer.ggml.merges', undefined, /tokenizer\.ggml\.merges: missing/],
    ['tokenizer.ggml.pre', 'mystery-pre', /pre-tokenizer "mystery-pre" is not supported/],
    ['tokenizer.ggml.token_type', [1, 1], /has 2 entries for 4 tokens/],
    ['tokenizer.ggml.scores', 'high', /array of numbers/],
    ['tokenizer.ggml.eos_token_id', -1, /non-negative integer/],
    ['tokenizer.ggml.add_bos_token', 1, /expected a boolean/],
  ])('fails naming %s when it is %j', (key, value, message) => {
    const metadata = base();
    if (value === undefined) delete metadata[key];
    else metadata[key] = value as GgufValue;
    let error: unknown;
    try {
      Tokenizer.fromGguf(metadata, 'model.gguf');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).code).toBe('MODEL_BAD_TOKENIZER');
    expect((error as ModelFileError).key).toBe(key);
    expect((error as ModelFileError).file).toBe('model.gguf');
    expect((error as Error).message).toMatch(/^model\.gguf: /);
    expect((error as Error).message).toMatch(message);
  });

  it('ignores special-token ids outside the vocabulary, as llama.cpp does', () => {
    const t = Tokenizer.fromGguf({ ...base(), 'tokenizer.ggml.eos_token_id': 99 });
    // The fallback EOS of a gpt2 vocabulary, token 11, is not there either.
    expect(t.eosTokenId).toBeUndefined();
    // "<|end|>" still ends generation: llama.cpp recognises it by its text.
    expect(t.stopTokenIds).toEqual([3]);
  });
});
