import { demoModelPath } from '@x/demo-model';
import { describe, expect, it } from 'vitest';
import { llamaCppGreedy } from './oracle.js';
import { referenceGreedy } from './reference.js';

// The shipped demo model (trained by tools/demo-model, written by our GGUF writer) must read in
// llama.cpp as it reads in @x/model: the same SentencePiece ids for a text prompt, BOS included,
// and the same greedy tokens. A disagreement points at the export: tokenizer metadata, the Q/K row
// permutation for llama.cpp's interleaved rope, or a hyperparameter key.
const STEPS = 32;

describe('@x/demo-model in llama.cpp and in the reference executor', () => {
  it.each([
    'In the beginning',
    'And the LORD said',
    // Characters the corpus lacks fall back to <0xXX> byte tokens; digits, tabs, newlines too.
    'Verily, 42 héros  said: "日本語 🙂"\n\tAmen.',
  ])('%j: same prompt ids, same 32 greedy tokens, same text', async (prompt) => {
    const ours = await referenceGreedy(demoModelPath, prompt, STEPS);
    const theirs = await llamaCppGreedy(demoModelPath, prompt, STEPS);
    expect(ours.prompt).toEqual(theirs.prompt);
    expect(ours.tokens).toEqual(theirs.tokens);
    expect(ours.text).toBe(theirs.text);
  });
});
