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

/** llama.cpp's greedy continuation of `prompt` (token ids), `count` tokens, EOS included. */
export async function llamaCppGreedy(
  modelPath: string,
  prompt: number[],
  count: number,
): Promise<number[]> {
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
    const out: number[] = [];
    for await (const token of context
      .getSequence()
      .evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
      out.push(token);
      if (out.length >= count) break;
    }
    return out;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
