// Test helpers: llama.cpp's own greedy completion, outside the server, as the oracle; the demo
// model with a chat template added.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  encodeGguf,
  fileSource,
  type GgufMetadataInput,
  GgufValueType,
  readGgufIndex,
} from '@x/model';
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';

/** What node-llama-cpp's own greedy loop makes of a prompt. */
export interface Greedy {
  tokens: Token[];
  /** `tokens` detokenized as a continuation of the prompt, EOS left out. */
  text: string;
  finishReason: 'stop' | 'length';
}

/** llama.cpp apart from the server: a CPU instance, the model, one context of one sequence. */
export interface Oracle {
  model: LlamaModel;
  /** node-llama-cpp's greedy continuation of `prompt`: up to `maxTokens` tokens, EOS included. */
  greedy(prompt: Token[], maxTokens: number): Promise<Greedy>;
  dispose(): Promise<void>;
}

/** An {@link Oracle} for the GGUF file at `modelPath`. */
export async function createOracle(modelPath: string): Promise<Oracle> {
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
    maxThreads: 1,
  });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
  const sequence = context.getSequence();
  // One generation at a time on the one sequence, in call order.
  let last: Promise<unknown> = Promise.resolve();
  const run = async (prompt: Token[], maxTokens: number): Promise<Greedy> => {
    await sequence.clearHistory();
    const tokens: Token[] = [];
    for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
      tokens.push(token);
      if (model.isEogToken(token) || tokens.length >= maxTokens) break;
    }
    const eos = model.isEogToken(tokens.at(-1));
    return {
      tokens,
      text: model.detokenize(eos ? tokens.slice(0, -1) : tokens, false, prompt),
      finishReason: eos ? 'stop' : 'length',
    };
  };
  return {
    model,
    greedy(prompt, maxTokens) {
      const result = last.then(() => run(prompt, maxTokens));
      last = result.catch(() => {});
      return result;
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

/** The `data:` payloads of an SSE body, `[DONE]` included. */
export async function sseEvents(response: Response): Promise<string[]> {
  const events: string[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (event.startsWith('data: ')) events.push(event.slice(6));
      end = buffer.indexOf('\n\n');
    }
  }
  return events;
}

/** Element types of the array keys the demo model's GGUF file has. */
const ARRAY_TYPES: Record<string, GgufValueType> = {
  'tokenizer.ggml.tokens': GgufValueType.STRING,
  'tokenizer.ggml.scores': GgufValueType.FLOAT32,
  'tokenizer.ggml.token_type': GgufValueType.INT32,
};

/**
 * A copy of the GGUF file at `path`, written into `dir`, with `tokenizer.chat_template` set to
 * `template`: the same weights and vocabulary behind a chat template.
 */
export async function withChatTemplate(
  path: string,
  dir: string,
  template: string,
): Promise<string> {
  const source = await fileSource(path);
  const index = await readGgufIndex(source).finally(() => source.close?.());
  const bytes = await readFile(path);
  const metadata: Record<string, GgufMetadataInput> = {};
  for (const [key, value] of Object.entries(index.metadata)) {
    const type = index.metadataTypes[key] as GgufValueType;
    if (type === GgufValueType.ARRAY) {
      const arrayType = ARRAY_TYPES[key];
      if (arrayType === undefined)
        throw new Error(`${path}: ${key}: array of unknown element type`);
      metadata[key] = { type, arrayType, value };
    } else {
      metadata[key] = { type, value };
    }
  }
  metadata['tokenizer.chat_template'] = template;
  const tensors = [...index.tensors.values()].map((t) => ({
    name: t.name,
    type: t.type,
    shape: t.shape,
    data: bytes.subarray(t.offset, t.offset + t.byteLength),
  }));
  const out = join(dir, 'templated.gguf');
  await writeFile(out, encodeGguf({ metadata, tensors, alignment: index.alignment }));
  return out;
}
