// Shared by this package's tests and benchmark: a tiny model and a server over an engine.
import { type EngineOptions, InferenceEngine } from '@x/engine';
import { byteLevelTokenizer, GgmlType, loadSyntheticModel, type Model } from '@x/model';
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
