import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedecodeStream } from './decode-stream.js';
import { cleanSpaces, SpaceCleaner } from './space-cleanup.js';
import { hfFiles, type VocabularyName, wordPieceTokenizerJson } from './test-helpers.js';
import { Tokenizer } from './tokenizer.js';

const tokenizers = new Map<VocabularyName, Tokenizer>();
const tokenizer = (name: VocabularyName) => tokenizers.get(name) as Tokenizer;

beforeAll(() => {
  for (const name of ['llama2', 'llama3', 'qwen3'] as const) {
    const { tokenizerJson, tokenizerConfig } = hfFiles(name);
    tokenizers.set(name, Tokenizer.fromJson(tokenizerJson, tokenizerConfig));
  }
}, 60_000);

/** Every push of a stream over `ids`, then the flush. */
function stream(t: Tokenizer, ids: readonly number[], skipSpecialTokens = false): string[] {
  const decoder = t.createDecodeStream({ skipSpecialTokens });
  return [...ids.map((id) => decoder.push(id)), decoder.flush()];
}

/**
 * Random token sequences (ids from `id`) stream to their decode, with and without special tokens:
 * every prefix of the streamed text is a prefix of the decode, and the flush completes it.
 */
function expectStreamsToDecode(
  t: Tokenizer,
  id: fc.Arbitrary<number>,
  maxLength: number,
  numRuns: number,
): void {
  fc.assert(
    fc.property(fc.array(id, { maxLength }), fc.boolean(), (ids, skipSpecialTokens) => {
      const full = t.decode(ids, { skipSpecialTokens });
      const decoder = t.createDecodeStream({ skipSpecialTokens });
      let text = '';
      for (const id of ids) {
        text += decoder.push(id);
        expect(full.startsWith(text)).toBe(true);
      }
      expect(text + decoder.flush()).toBe(full);
    }),
    { numRuns },
  );
}

describe('createDecodeStream', () => {
  it('holds back an emoji split over byte-level tokens until its last byte', () => {
    const t = tokenizer('llama3');
    const text = '👍🏽🇫🇷 你好，世界';
    const ids = t.encode(text, { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(Array.from(text).length - 2);
    const pushes = stream(t, ids);
    expect(pushes.join('')).toBe(text);
    expect(pushes).toContain('');
    for (const piece of pushes) expect(piece).not.toContain('\uFFFD');
  });

  it('holds back SentencePiece byte-fallback tokens until the character is whole', () => {
    const t = tokenizer('llama2');
    const ids = t.encode('aꙮb', { addSpecialTokens: false });
    const texts = ids.map((id) => t.tokenText(id));
    expect(texts).toEqual(['▁a', '<0xEA>', '<0x99>', '<0xAE>', 'b']);
    expect(stream(t, ids)).toEqual(['a', '', '', 'ꙮ', 'b', '']);
  });

  it('drops the SentencePiece space prefix of the first token only', () => {
    const t = tokenizer('llama2');
    const ids = t.encode('Hello world', { addSpecialTokens: false });
    expect(stream(t, ids)).toEqual(['Hello', ' world', '']);
    const withBos = [1, ...ids];
    expect(stream(t, withBos, true).join('')).toBe(' Hello world');
    expect(stream(t, withBos).join('')).toBe('<s> Hello world');
  });

  it('holds a space back while the next token may clean it up', () => {
    const t = tokenizer('llama3');
    const ids = t.encode('Hello , world', { addSpecialTokens: false });
    const pushes = stream(t, ids);
    expect(pushes.join('')).toBe('Hello, world');
    expect(pushes[0]).toBe('Hello');
  });

  it('leaves out special tokens when asked, and keeps going after a flush', () => {
    const t = tokenizer('llama3');
    const ids = t.encode('<|start_header_id|>assistant<|end_header_id|>\n\nHi<|eot_id|>');
    expect(stream(t, ids, true).join('')).toBe('assistant\n\nHi');
    const decoder = t.createDecodeStream();
    const first = [...ids.map((id) => decoder.push(id)), decoder.flush()].join('');
    const second = [...ids.map((id) => decoder.push(id)), decoder.flush()].join('');
    expect(second).toBe(first);
  });

  it.each(['llama2', 'llama3', 'qwen3'] as const)(
    '%s: random token sequences stream to their decode, never taking text back',
    (name) => {
      const t = tokenizer(name);
      // Byte tokens and the first ids of each vocabulary (bytes, for byte-level BPE) are the
      // ones that split characters; mix them with any token.
      const id = fc.oneof(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: t.vocabSize - 1 }),
      );
      expectStreamsToDecode(t, id, 24, 300);
    },
  );
});

describe('createDecodeStream for a tokenizer.json decoder without pieces (WordPiece)', () => {
  // Punctuation and contractions exercise the decoder's clean-up, which joins a token to the one
  // before it; '##' pieces join without a space.
  const words = ['hello', 'world', 'do', "n't", 'it', "'s", '.', ',', '!', '?', 'a', 'b'];
  const tokens = [...words, '##s', '##ing', '##ly', '##.'];
  let t: Tokenizer;
  beforeAll(() => {
    t = Tokenizer.fromJson(wordPieceTokenizerJson(tokens));
  });

  it('streams random token sequences to their decode, never taking text back', () => {
    const id = fc.integer({ min: 0, max: tokens.length + 2 });
    expectStreamsToDecode(t, id, 40, 500);
  });

  it('decodes a few tokens a push, however long the stream', () => {
    let decoded = 0;
    const stream = new RedecodeStream((ids) => {
      decoded += ids.length;
      return t.decode(ids);
    });
    const ids = t.encode("hello world, do n't it's a b.", { addSpecialTokens: false });
    let text = '';
    const pushes = 5000;
    for (let i = 0; i < pushes; i++) text += stream.push(ids[i % ids.length] as number);
    text += stream.flush();
    expect(text).toBe(
      t.decode(Array.from({ length: pushes }, (_, i) => ids[i % ids.length] as number)),
    );
    // Two decodes of a window of a few tokens per push, not of the whole stream.
    expect(decoded).toBeLessThan(pushes * 8);
  });
});

/** llama.cpp's three `clean_spaces` loops in `llama_vocab::impl::detokenize`, transcribed. */
function llamaCppCleanSpaces(input: string): string {
  const text = Array.from(input);
  let total = text.length;
  // first pass: characters ?!.,
  const total1 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total1; ++i) {
    const x = text[i] as string;
    if (text[i - 1] === ' ' && (x === '?' || x === '!' || x === '.' || x === ',')) total--;
    text[total++] = x;
  }
  // second pass: strip single apostrophe between spaces
  const total2 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total2; ++i) {
    const x = text[i] as string;
    if (x === "'" && i + 1 < total2 && text[i - 1] === ' ' && text[i + 1] === ' ') {
      total--;
      text[++i] = '\0';
    }
    text[total++] = x;
  }
  // third pass: apostrophe contractions
  const total3 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total3; ++i) {
    const x = text[i] as string;
    if (text[i - 1] === ' ' && x === "'" && i + 1 < total3) {
      const x1 = text[i + 1];
      if (x1 === 's' || x1 === 'm') total--;
      else if (i + 2 < total3) {
        const x2 = text[i + 2];
        if ((x1 === 'r' && x2 === 'e') || (x1 === 'v' && x2 === 'e')) total--;
      }
    }
    text[total++] = x;
  }
  return text.slice(0, total).join('');
}

/** transformers' `clean_up_tokenization`. */
const hfCleanUp = (text: string) =>
  text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");

describe('space clean-up', () => {
  const texts = fc.stringMatching(/^[ ',.?!smrevtnd'x]{0,30}$/);

  it("matches llama.cpp's clean_spaces loops", () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(cleanSpaces(text, 'llama')).toBe(llamaCppCleanSpaces(text));
      }),
      { numRuns: 2000 },
    );
    expect(cleanSpaces("a ' b it 's we 're I 'll don 't x .", 'llama')).toBe(
      "a'b it's we're I 'll don 't x.",
    );
  });

  it("matches transformers' clean_up_tokenization", () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(cleanSpaces(text, 'hf')).toBe(hfCleanUp(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same text however the input is cut', () => {
    const cuts = fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 6 });
    fc.assert(
      fc.property(
        texts,
        cuts,
        fc.constantFrom('llama', 'hf', 'none') as fc.Arbitrary<'llama' | 'hf' | 'none'>,
        (text, at, cleanup) => {
          const points = [...new Set(at.map((a) => Math.min(a, text.length)))].sort(
            (a, b) => a - b,
          );
          const cleaner = new SpaceCleaner(cleanup);
          let out = '';
          let from = 0;
          for (const point of [...points, text.length]) {
            out += cleaner.push(text.slice(from, point));
            from = point;
          }
          expect(out + cleaner.flush()).toBe(cleanSpaces(text, cleanup));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
