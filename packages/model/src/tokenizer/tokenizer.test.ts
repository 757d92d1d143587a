import { beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../errors.js';
import { CORPUS, hfFiles, type VocabularyName, wordPieceTokenizerJson } from './test-helpers.js';
import { Tokenizer } from './tokenizer.js';

const tokenizers = new Map<VocabularyName, Tokenizer>();
const load = (name: VocabularyName) => {
  const { tokenizerJson, tokenizerConfig } = hfFiles(name);
  tokenizers.set(
    name,
    Tokenizer.fromJson(tokenizerJson, tokenizerConfig, `${name}/tokenizer.json`),
  );
};
const tokenizer = (name: VocabularyName) => tokenizers.get(name) as Tokenizer;

beforeAll(() => {
  for (const name of ['llama2', 'llama3', 'qwen3'] as const) load(name);
}, 60_000);

/** Texts that decode back to themselves: no spaces before punctuation, no special-token text. */
const ROUND_TRIP = CORPUS.filter((text) => !/ [.,!?']|<\/?s>|<\|/.test(text));

describe('Tokenizer.fromJson', () => {
  it.each(['llama2', 'llama3', 'qwen3'] as const)(
    '%s: decode(encode(text)) is the text',
    (name) => {
      const t = tokenizer(name);
      for (const text of ROUND_TRIP) {
        const ids = t.encode(text, { addSpecialTokens: false });
        expect(t.decode(ids), JSON.stringify(text)).toBe(text);
      }
    },
  );

  it('llama2: SentencePiece with BOS, a space prefix and byte fallback', () => {
    const t = tokenizer('llama2');
    expect(t.vocabSize).toBe(32000);
    expect([t.bosTokenId, t.eosTokenId, t.bosToken, t.eosToken]).toEqual([1, 2, '<s>', '</s>']);
    expect([t.addBosToken, t.addEosToken]).toEqual([true, false]);
    const ids = t.encode('Hello world');
    expect(ids[0]).toBe(1);
    expect(ids.slice(1)).toEqual(t.encode('Hello world', { addSpecialTokens: false }));
    expect(t.tokenText(ids[1] as number)).toBe('▁Hello');
    // A character with no token of its own is its UTF-8 bytes.
    const rare = t.encode('ꙮ', { addSpecialTokens: false }).map((id) => t.tokenText(id));
    expect(rare).toEqual(['▁', '<0xEA>', '<0x99>', '<0xAE>']);
    // llama.cpp drops the space prefix of the first token only: after a BOS it stays.
    expect(t.decode(ids)).toBe('<s> Hello world');
    expect(t.decode(ids, { skipSpecialTokens: true })).toBe(' Hello world');
    expect(t.decode(ids.slice(1))).toBe('Hello world');
    expect(t.stopTokenIds).toEqual([2]);
    expect(t.chatTemplate).toBeUndefined();
  });

  it('llama3: byte-level BPE whose special tokens are parsed from text', () => {
    const t = tokenizer('llama3');
    expect(t.vocabSize).toBe(128256);
    expect([t.bosTokenId, t.eosTokenId]).toEqual([128000, 128001]);
    // This tokenizer.json's post-processor adds no BOS, and its config does not ask for one.
    expect(t.addBosToken).toBe(false);
    const ids = t.encode('<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>');
    expect(ids[0]).toBe(128006);
    expect(ids.at(-1)).toBe(128009);
    expect(t.isSpecial(128009)).toBe(true);
    expect(t.isSpecial(ids[1] as number)).toBe(false);
    expect(t.tokenText(ids[1] as number)).toBe('user');
    expect(t.stopTokenIds).toEqual([128001, 128009]);
    expect(t.decode(ids, { skipSpecialTokens: true })).toBe('user\n\nHi');
    expect(t.chatTemplate).toContain('<|start_header_id|>');
    // Three digits at most per token, as Llama 3's pre-tokenizer splits them.
    expect(t.encode('1234567', { addSpecialTokens: false }).map((id) => t.tokenText(id))).toEqual([
      '123',
      '456',
      '7',
    ]);
  });

  it('llama3: spaces before punctuation are cleaned up when decoding', () => {
    const t = tokenizer('llama3');
    const ids = t.encode('Hello , world ! Is it ? Yes .', { addSpecialTokens: false });
    expect(t.decode(ids)).toBe('Hello, world! Is it? Yes.');
  });

  it('qwen3: no BOS, <|im_end|> as EOS, and the EOG tokens llama.cpp recognises', () => {
    const t = tokenizer('qwen3');
    expect(t.bosTokenId).toBeUndefined();
    expect(t.eosToken).toBe('<|im_end|>');
    expect(t.addBosToken).toBe(false);
    const ids = t.encode('<|im_start|>user\nHi<|im_end|>');
    expect(ids[0]).toBe(151644);
    expect(ids.at(-1)).toBe(151645);
    for (const text of [
      '<|endoftext|>',
      '<|im_end|>',
      '<|fim_pad|>',
      '<|repo_name|>',
      '<|file_sep|>',
    ]) {
      const [id] = t.encode(text);
      expect(t.stopTokenIds, text).toContain(id);
    }
    // Digits one by one.
    expect(t.encode('1234', { addSpecialTokens: false })).toHaveLength(4);
    // "</s>" is a normal token in Qwen's vocabulary, but llama.cpp stops on it and parses it.
    const closeS = t.encode('</s>', { addSpecialTokens: false });
    expect(closeS).toHaveLength(1);
    expect(t.stopTokenIds).toContain(closeS[0]);
    expect(t.chatTemplate).toContain('<|im_start|>');
  });

  it('keeps user-defined tokens in a decode without special tokens', () => {
    const t = tokenizer('qwen3');
    const ids = t.encode('<think>x</think><|im_end|>', { addSpecialTokens: false });
    expect(ids).toHaveLength(4);
    expect(t.isSpecial(ids[0] as number)).toBe(false);
    expect(t.decode(ids, { skipSpecialTokens: true })).toBe('<think>x</think>');
  });

  it('decodes an empty list and encodes an empty text', () => {
    expect(tokenizer('llama3').decode([])).toBe('');
    expect(tokenizer('llama3').encode('', { addSpecialTokens: false })).toEqual([]);
    expect(tokenizer('llama2').encode('')).toEqual([1]);
  });

  it('rejects token ids outside the vocabulary', () => {
    const t = tokenizer('llama3');
    expect(() => t.decode([128256])).toThrow(RangeError);
    expect(() => t.decode([-1])).toThrow(RangeError);
    expect(() => t.decode([1.5])).toThrow(RangeError);
    expect(() => t.tokenText(999999)).toThrow(RangeError);
    expect(() => t.createDecodeStream().push(128256)).toThrow(RangeError);
    expect(t.isSpecial(999999)).toBe(false);
  });

  it('runs other tokenizer.json models, decoding with their own decoder', () => {
    const t = Tokenizer.fromJson(
      wordPieceTokenizerJson(['hello', 'world', '##s', '!'], { bertProcessing: true }),
    );
    const ids = t.encode('Hello worlds!');
    expect(ids).toEqual([1, 3, 4, 5, 6, 2]);
    expect([t.bosToken, t.eosToken]).toEqual(['[CLS]', '[SEP]']);
    expect(t.decode(ids, { skipSpecialTokens: true })).toBe('hello worlds!');
    const stream = t.createDecodeStream({ skipSpecialTokens: true });
    expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe('hello worlds!');
  });

  it('accepts JSON text as well as parsed JSON', () => {
    const { tokenizerJson, tokenizerConfig } = hfFiles('llama2');
    const t = Tokenizer.fromJson(JSON.stringify(tokenizerJson), JSON.stringify(tokenizerConfig));
    expect(t.encode('Hello')).toEqual(tokenizer('llama2').encode('Hello'));
  });

  it('fails with MODEL_BAD_TOKENIZER naming the file for what is not a tokenizer', () => {
    const bad = (json: unknown, config?: unknown) => {
      try {
        Tokenizer.fromJson(json, config, 'm/tokenizer.json');
      } catch (error) {
        return error;
      }
      throw new Error('no error');
    };
    for (const json of ['{not json', '[]', 42, null, {}, { model: { type: 'BPE' } }]) {
      const error = bad(json);
      expect(error, JSON.stringify(json)).toBeInstanceOf(ModelFileError);
      expect((error as ModelFileError).code).toBe('MODEL_BAD_TOKENIZER');
      expect((error as ModelFileError).file).toBe('m/tokenizer.json');
    }
    expect((bad({}) as ModelFileError).key).toBe('model');
    expect((bad(hfFiles('llama2').tokenizerJson, '{') as ModelFileError).message).toMatch(
      /tokenizer_config\.json is not valid JSON/,
    );
  });
});
