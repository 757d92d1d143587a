// The shapes the oracle's model tests share.
import type { SyntheticModelOptions } from '@x/model';

/** Tokens of {@link ID_TOKENIZER}. */
export const VOCAB = 96;

/**
 * Byte-level BPE with no merges: every token is one made-up piece. llama.cpp loads it; the models
 * are driven by token ids, so the vocabulary's content does not matter.
 */
export const ID_TOKENIZER = {
  'tokenizer.ggml.model': 'gpt2',
  'tokenizer.ggml.pre': 'default',
  'tokenizer.ggml.tokens': Array.from({ length: VOCAB }, (_, i) => `t${i}`),
  'tokenizer.ggml.merges': [] as string[],
  'tokenizer.ggml.bos_token_id': 0,
  'tokenizer.ggml.eos_token_id': 1,
  'tokenizer.ggml.add_bos_token': false,
};

/**
 * A small llama with grouped-query attention. A wide output projection spreads logits far apart,
 * so the greedy choice is decided by the model and not by rounding; each test checks the margin.
 */
export const BASE: SyntheticModelOptions = {
  architecture: 'llama',
  tokenizer: ID_TOKENIZER,
  hiddenSize: 256,
  intermediateSize: 512,
  numLayers: 2,
  numHeads: 8,
  numKvHeads: 2,
  logitScale: 20,
  seed: 2,
};
