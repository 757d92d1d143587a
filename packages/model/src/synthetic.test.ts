import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesSource } from './byte-source.js';
import { readGgufIndex } from './gguf/reader.js';
import { byteLevelTokenizer, syntheticGguf } from './synthetic.js';
import { concat, SMALL_LLAMA } from './test-helpers.js';
import { cleanSpaces } from './tokenizer/space-cleanup.js';
import { Tokenizer } from './tokenizer/tokenizer.js';

describe('byteLevelTokenizer', () => {
  it('makes one token per UTF-8 byte, round-trips any text (up to space clean-up), and ends with EOS', async () => {
    const bytes = concat(
      syntheticGguf({ ...SMALL_LLAMA, tokenizer: byteLevelTokenizer({ chatTemplate: '{{ x }}' }) }),
    );
    const { metadata } = await readGgufIndex(bytesSource(bytes, 'bytes.gguf'));
    const tokenizer = Tokenizer.fromGguf(metadata, 'bytes.gguf');
    expect(tokenizer.vocabSize).toBe(257);
    expect(tokenizer.eosTokenId).toBe(256);
    expect(tokenizer.stopTokenIds).toEqual([256]);
    expect(tokenizer.chatTemplate).toBe('{{ x }}');
    expect(tokenizer.encode('hé 🙂')).toEqual([...new TextEncoder().encode('hé 🙂')]);
    expect(tokenizer.decode(tokenizer.encode('a .'))).toBe('a.');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const ids = tokenizer.encode(text);
        expect(ids).toEqual([...new TextEncoder().encode(text)]);
        // As llama.cpp decodes a gpt-2 vocabulary: spaces before punctuation are cleaned up
        // (" ." comes back as "."), so the round trip is exact up to that.
        expect(tokenizer.decode(ids)).toBe(cleanSpaces(text, 'llama'));
      }),
    );
  });
});
