// llama.cpp, through node-llama-cpp, as the outside oracle: one CPU instance per test file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, type Llama, LlamaLogLevel, type Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

/** The prebuilt CPU llama.cpp; never builds from source, never uses a GPU. */
export function llamaCpp(): Promise<Llama> {
  llama ??= getLlama({
    gpu: false,
    build: 'never',
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
  });
  return llama;
}

/** A fresh temporary directory for fixture files. */
export function fixtureDir(): string {
  return mkdtempSync(join(tmpdir(), 'xinfer-oracle-'));
}

/** What llama.cpp made of a prompt: the ids it fed (BOS included) and its greedy continuation. */
export interface LlamaCppGreedy {
  prompt: number[];
  tokens: number[];
  /** `tokens` detokenized, special tokens left out. */
  text: string;
}

/**
 * llama.cpp's greedy continuation of `prompt`, `count` tokens, EOS included. A text prompt is
 * tokenized by llama.cpp, with BOS when the vocabulary asks for it.
 */
export async function llamaCppGreedy(
  modelPath: string,
  prompt: number[] | string,
  count: number,
): Promise<LlamaCppGreedy> {
  const model = await (await llamaCpp()).loadModel({ modelPath });
  // One thread: on a small shared machine llama.cpp's spinning worker threads cost seconds a token.
  // F32 K/V and no flash attention: llama.cpp's attention then runs in f32 like the reference, and
  // the comparison tests the model rather than f16 rounding of the cache.
  const context = await model.createContext({
    contextSize: 256,
    batchSize: 256,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  try {
    let ids = prompt as Token[];
    if (typeof prompt === 'string') {
      const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null;
      ids = [...(bos ? [model.tokens.bos as Token] : []), ...model.tokenize(prompt, true)];
    }
    const tokens: Token[] = [];
    for await (const token of context
      .getSequence()
      .evaluate(ids, { temperature: 0, yieldEogToken: true })) {
      tokens.push(token);
      if (tokens.length >= count) break;
    }
    return { prompt: ids, tokens, text: model.detokenize(tokens, false) };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
