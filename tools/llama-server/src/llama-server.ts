// llama.cpp behind the OpenAI API: one model, one context, `sequences` requests decoding at once.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { createApp } from './app.js';
import { emptyBatchStats, fairShareStrategy } from './batching.js';
import { chatPrompter } from './prompt.js';
import { SequencePool } from './sequence-pool.js';

/** Options of {@link startLlamaServer}. */
export interface LlamaServerOptions {
  /** The GGUF file to serve. */
  modelPath: string;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Requests generating at once, each on its own sequence of one context. Default 8. */
  sequences?: number;
  /**
   * Tokens one sequence holds, prompt and completion together. Default the model's training
   * context, at most 2048.
   */
  contextSize?: number;
  /** Tokens one llama_decode call takes, shared among the sequences. Default 512. */
  batchSize?: number;
  /** CPU threads llama.cpp computes with. Default {@link defaultThreads}. */
  threads?: number;
  /** The id `/v1/models` lists and responses name. Default the file's base name without `.gguf`. */
  modelId?: string;
  /** Largest request body in bytes; larger ones get 413. Default 4 MiB. */
  maxBodyBytes?: number;
}

/** A running server. */
export interface LlamaServer {
  /** Base URL of the API, `/v1` included: what OpenAI clients and `xinfer bench --url` take. */
  url: string;
  /** The model id requests are answered for. */
  modelId: string;
  /** Threads llama.cpp computes with. */
  threads: number;
  /** Tokens one sequence holds. */
  contextSize: number;
  /** Aborts requests in flight, closes every connection and frees the model. */
  close(): Promise<void>;
}

/**
 * Threads when none are asked for: all cores but one. llama.cpp's workers spin while they wait;
 * on the core Node's event loop needs they starve it, and a 2-core machine decodes the demo model
 * 80 to 200 times slower with 2 threads than with 1 (README).
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Loads `modelPath` into llama.cpp (node-llama-cpp's prebuilt CPU build) and serves it over an
 * OpenAI-compatible HTTP API; resolves once it listens.
 * @throws Error from node-llama-cpp when the file cannot be loaded
 */
export async function startLlamaServer(options: LlamaServerOptions): Promise<LlamaServer> {
  const sequences = options.sequences ?? 8;
  const threads = options.threads ?? defaultThreads();
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
    maxThreads: threads,
  });
  const model = await llama.loadModel({ modelPath: options.modelPath }).catch(async (error) => {
    await llama.dispose();
    throw error;
  });
  const batchStats = emptyBatchStats();
  try {
    const context = await model.createContext({
      sequences,
      contextSize: options.contextSize ?? Math.min(model.trainContextSize, 2048),
      batchSize: Math.max(options.batchSize ?? 512, sequences),
      threads,
      batching: {
        dispatchSchedule: 'nextCycle',
        itemPrioritizationStrategy: fairShareStrategy(batchStats),
      },
    });
    const pool = new SequencePool(Array.from({ length: sequences }, () => context.getSequence()));
    const modelId = options.modelId ?? basename(options.modelPath).replace(/\.gguf$/i, '');
    const app = createApp({
      modelId,
      model,
      pool,
      prompter: chatPrompter(model),
      contextSize: context.contextSize,
      threads,
      batchStats,
      maxBodyBytes: options.maxBodyBytes ?? 4 * 2 ** 20,
    });
    const server = createServer({ noDelay: true, keepAlive: true }, app.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${address.port}/v1`,
      modelId,
      threads,
      contextSize: context.contextSize,
      close() {
        closing ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          await app.abortAll(new Error('the server closed'));
          server.closeAllConnections();
          await closed;
          await context.dispose();
          await model.dispose();
          await llama.dispose();
        })();
        return closing;
      },
    };
  } catch (error) {
    await model.dispose();
    await llama.dispose();
    throw error;
  }
}
