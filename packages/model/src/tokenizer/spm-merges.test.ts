import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { spmMerges } from './spm-merges.js';
import { TokenType } from './token-type.js';
import { Tokenizer } from './tokenizer.js';

/**
 * llama.cpp's `llm_tokenizer_spm_session::tokenize`, written plainly: join the adjacent pair
 * whose concatenation is a token with the highest score, the leftmost among equal scores, until
 * none is left; a symbol that is not a token becomes its bytes' `<0xXX>` tokens.
 */
function llamaCppSpm(text: string, tokens: string[], scores: number[]): number[] {
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const symbols = Array.from(text);
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const id = ids.get(`${symbols[i]}${symbols[i + 1]}`);
      if (id !== undefined && Math.fround(scores[id] ?? 0) > bestScore) {
        best = i;
        bestScore = Math.fround(scores[id] ?? 0);
      }
    }
    if (best < 0) break;
    symbols.splice(best, 2, `${symbols[best]}${symbols[best + 1]}`);
  }
  return symbols.flatMap((symbol) => {
    const id = ids.get(symbol);
    if (id !== undefined) return [id];
    return Array.from(new TextEncoder().encode(symbol), (b) => {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      return ids.get(`<0x${hex}>`) as number;
    });
  });
}

const BYTES = Array.from(
  { length: 256 },
  (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
);

describe('spmMerges', () => {
  it('ranks every two-part split of a token by the score of the token it makes', () => {
    const { merges, ranks } = spmMerges(['a', 'b', 'c', 'ab', 'abc', 'bc'], [0, 0, 0, -1, -1, -3]);
    expect(merges).toEqual([
      ['a', 'b'],
      ['a', 'bc'],
      ['ab', 'c'],
      ['b', 'c'],
    ]);
    // "ab" and "abc" score alike: one rank, so the leftmost pair goes first.
    expect(ranks).toEqual([0, 0, 0, 1]);
  });

  it('lets a character without a token of its own take part in a merge', () => {
    expect(spmMerges(['a', 'aé'], [0, -1]).merges).toEqual([['a', 'é']]);
  });

  it('tokenizes as llama.cpp merges, ties to the leftmost pair, on random vocabularies', () => {
    const pieces = fc.uniqueArray(fc.stringMatching(/^[ab▁c]{2,4}$/), {
      minLength: 1,
      maxLength: 24,
    });
    const vocabulary = pieces.chain((multi) =>
      fc.record({
        multi: fc.constant(multi),
        // Few distinct scores, so that ties are common.
        scores: fc.array(fc.integer({ min: -3, max: 0 }), {
          minLength: multi.length,
          maxLength: multi.length,
        }),
      }),
    );
    fc.assert(
      fc.property(vocabulary, fc.stringMatching(/^[abcd ]{0,16}$/), ({ multi, scores }, text) => {
        const tokens = ['<unk>', '<s>', '</s>', ...BYTES, 'a', 'b', 'c', '▁', ...multi];
        const allScores = [...tokens.slice(0, -multi.length).map(() => 0), ...scores];
        const types = tokens.map((t, i) =>
          i < 3 ? TokenType.CONTROL : t.startsWith('<0x') ? TokenType.BYTE : TokenType.NORMAL,
        );
        const tokenizer = Tokenizer.fromGguf({
          'tokenizer.ggml.model': 'llama',
          'tokenizer.ggml.tokens': tokens,
          'tokenizer.ggml.scores': allScores,
          'tokenizer.ggml.token_type': types,
        });
        const escaped = `▁${text.replaceAll(' ', '▁')}`;
        const expected = text === '' ? [] : llamaCppSpm(escaped, tokens, allScores);
        expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
