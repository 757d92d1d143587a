// Shared by this package's tests and benchmark: a tiny model and a server over an engine.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type EngineOptions, InferenceEngine } from '@x/engine';
import {
  byteLevelTokenizer,
  type ForwardBatch,
  type ForwardResult,
  GgmlType,
  loadSyntheticModel,
  type Model,
  type ModelExecutor,
} from '@x/model';
import { afterEach } from 'vitest';
import { type RunningServer, type ServerOptions, startServer } from './serve.js';

export const CHAT_TEMPLATE =
  '{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}' +
  '{% if add_generation_prompt %}<assistant>{% endif %}';

let tiny: Promise<Model> | undefined;

/** A 2-layer llama with a byte-level vocabulary and a chat template, loaded once. */
export function tinyModel(): Promise<Model> {
  tiny ??= loadSyntheticModel(
    {
      architecture: 'llama',
      tokenizer: byteLevelTokenizer({ chatTemplate: CHAT_TEMPLATE }),
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      contextLength: 256,
      weightType: GgmlType.Q8_0,
      logitScale: 4,
      seed: 11,
    },
    'tiny.gguf',
  );
  return tiny;
}

/** A server on a free port over a fresh engine for the tiny model. */
export async function tinyServer(
  engineOptions: Partial<EngineOptions> = {},
  serverOptions: Partial<ServerOptions> = {},
): Promise<{ server: RunningServer; engine: InferenceEngine }> {
  const engine = await InferenceEngine.create({
    model: await tinyModel(),
    maxNumBlocks: 64,
    kvCacheMemoryMb: 64,
    log: false,
    ...engineOptions,
  });
  const server = await startServer({ engine, port: 0, ...serverOptions });
  return { server, engine };
}

/** A chat template shipped with @x/model's test fixtures (Qwen 2.5, Llama 3.2, Mistral Nemo, …). */
export function fixtureTemplate(file: string): string {
  return readFileSync(
    fileURLToPath(
      new URL(`../../../packages/model/test-fixtures/chat-templates/${file}`, import.meta.url),
    ),
    'utf8',
  );
}

const templated = new Map<string, Promise<Model>>();

/** The tiny model with another chat template (each loaded once). */
export function templatedModel(chatTemplate: string): Promise<Model> {
  let model = templated.get(chatTemplate);
  if (!model) {
    model = loadSyntheticModel(
      {
        architecture: 'llama',
        tokenizer: byteLevelTokenizer({ chatTemplate }),
        hiddenSize: 64,
        intermediateSize: 128,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        // Byte-level tokens: a template that lists tools makes a prompt of a few thousand.
        contextLength: 4096,
        weightType: GgmlType.Q8_0,
        logitScale: 4,
        seed: 11,
      },
      'templated.gguf',
    );
    templated.set(chatTemplate, model);
  }
  return model;
}

/**
 * An executor that writes a scripted reply: for each sequence, `reply(promptText)` spelled in the
 * byte-level vocabulary's tokens, then end-of-sequence. It computes nothing; it lets tests drive
 * a server through exact model outputs (a tool call in a family's format, say).
 */
export class ScriptedExecutor implements ModelExecutor {
  readonly config: Model['config'];
  readonly kvCache: ModelExecutor['kvCache'];
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly model: Model,
    kvCache: ModelExecutor['kvCache'],
    private readonly reply: (prompt: string) => string,
  ) {
    this.config = model.config;
    this.kvCache = kvCache;
  }

  async execute(batch: ForwardBatch): Promise<ForwardResult> {
    const tokens: number[] = [];
    for (const s of batch.sequences) {
      if (!s.sample) continue;
      const prompt = this.model.tokenizer.decode(Array.from(s.promptTokenIds ?? []));
      const script = [...this.encoder.encode(this.reply(prompt))];
      const eos = this.model.tokenizer.eosTokenId ?? 0;
      tokens.push(script[s.outputTokenIds?.length ?? 0] ?? eos);
    }
    return { tokens: Int32Array.from(tokens), logprobs: tokens.map(() => undefined) };
  }

  async dispose(): Promise<void> {}
}

/** A server over the tiny model with `chatTemplate`, optionally scripted. */
export async function templatedServer(
  chatTemplate: string,
  reply?: (prompt: string) => string,
): Promise<{ server: RunningServer; engine: InferenceEngine }> {
  const model = await templatedModel(chatTemplate);
  const engine = await InferenceEngine.create({
    model,
    maxNumBlocks: 1024,
    kvCacheMemoryMb: 64,
    maxModelLen: 4096,
    log: false,
    ...(reply
      ? { executor: (m, kv) => new ScriptedExecutor(m, kv, reply) }
      : { executor: 'reference' }),
  });
  const server = await startServer({ engine, port: 0, modelId: 'tiny' });
  return { server, engine };
}

/**
 * A test file's server starter: each server it starts (and its engine) is closed after each test.
 * Call it at the top level of the file.
 */
export function serversClosedAfterEach<A extends unknown[]>(
  start: (...args: A) => Promise<{ server: RunningServer; engine: InferenceEngine }>,
): (...args: A) => Promise<{ server: RunningServer; engine: InferenceEngine }> {
  let running: Array<{ server: RunningServer; engine: InferenceEngine }> = [];
  afterEach(async () => {
    for (const { server, engine } of running) {
      await server.close();
      await engine.close();
    }
    running = [];
  });
  return async (...args: A) => {
    const started = await start(...args);
    running.push(started);
    return started;
  };
}
