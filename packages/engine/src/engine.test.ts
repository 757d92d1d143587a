import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestGpuDevice } from '@x/gpu-webgpu';
import {
  byteLevelTokenizer,
  type ForwardBatch,
  type ForwardResult,
  type KvCacheShape,
  type Model,
  type ModelExecutor,
  ReferenceExecutor,
  syntheticGguf,
  writeFileChunks,
} from '@x/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EngineOptions, InferenceEngine, isSoftwareAdapter } from './engine.js';
import { EngineConfigError } from './engine-config.js';
import { EngineError } from './errors.js';
import { GenerationParamsError } from './generation-params.js';
import type { GenerationDelta, GenerationStream } from './generation-stream.js';
import { ReversingExecutor, TINY, tinyModel } from './test-fixtures.js';

let model: Model;
beforeAll(async () => {
  model = await tinyModel();
});

const PROMPTS = [
  'In the beginning',
  'And God said, Let there be light',
  'x',
  'The quick brown fox jumps over the lazy dog. '.repeat(3),
  'Once upon a time',
];

const quiet = { log: false } as const;

function makeEngine(options: Partial<EngineOptions> = {}): Promise<InferenceEngine> {
  return InferenceEngine.create({
    model,
    maxNumBlocks: 64,
    kvCacheMemoryMb: 64,
    ...quiet,
    ...options,
  });
}

/** Reads a stream to the end: its deltas and the final record. */
async function drain(stream: GenerationStream) {
  const deltas: GenerationDelta[] = [];
  for await (const delta of stream) deltas.push(delta);
  return { deltas, result: await stream.result };
}

const engine = makeEngine;

const executors: Array<[string, EngineOptions['executor']]> = [
  ['ReferenceExecutor', 'reference'],
  ['CpuWasmExecutor', 'cpu'],
  ['an executor that runs sequences in reverse order', (m, kv) => new ReversingExecutor(m, kv)],
  // On a real adapter: a GPU, or Mesa's lavapipe on machines without one (never skipped).
  ['WebGpuExecutor', 'webgpu'],
];

describe.each(executors)('InferenceEngine on %s', (_, executor) => {
  it('gives each prompt the same greedy output together as alone', async () => {
    const params = { maxTokens: 24, temperature: 0 };
    const alone: string[] = [];
    for (const prompt of PROMPTS) {
      const e = await engine({ executor });
      alone.push((await e.generate(prompt, params).result).text);
      await e.close();
    }
    const e = await engine({ executor });
    const together = await Promise.all(PROMPTS.map((p) => drain(e.generate(p, params))));
    expect(together.map((t) => t.result.text)).toEqual(alone);
    for (const { deltas, result } of together) {
      expect(deltas.map((d) => d.text).join('')).toBe(result.text);
      expect(deltas.flatMap((d) => d.tokenIds)).toEqual(result.tokenIds);
      // Streamed piece by piece, the text is what decoding all the ids at once gives.
      expect(result.text).toBe(
        model.tokenizer.decode(result.tokenIds, { skipSpecialTokens: true }),
      );
      expect(result.usage.promptTokens).toBe(result.promptTokenIds.length);
      expect(result.finishReason === 'length' || result.stop === model.tokenizer.eosTokenId).toBe(
        true,
      );
    }
    expect(e.metrics.numFreeBlocks).toBe(e.metrics.numBlocks);
    await e.close();
  });

  it('gives the same text for the same seed, whatever shares the batch', async () => {
    const params = { maxTokens: 20, temperature: 1, topP: 1, seed: 1234 };
    const e = await engine({ executor });
    const alone = await e.generate(PROMPTS[0]!, params).result;
    const [again, , other] = await Promise.all([
      e.generate(PROMPTS[0]!, params).result,
      e.generate(PROMPTS[1]!, { ...params, seed: 5 }).result,
      e.generate(PROMPTS[0]!, { ...params, seed: 99 }).result,
    ]);
    expect(again.tokenIds).toEqual(alone.tokenIds);
    expect(again.text).toBe(alone.text);
    expect(other.tokenIds).not.toEqual(alone.tokenIds);
    await e.close();
  });
});

describe.each(executors)('InferenceEngine: stop conditions on %s', (_, executor) => {
  const engine = (options: Partial<EngineOptions> = {}) => makeEngine({ executor, ...options });
  it('cuts at a stop string that spans tokens, never streaming any of it', async () => {
    const e = await engine();
    const full = await e.generate(PROMPTS[1]!, { maxTokens: 40, temperature: 0 }).result;
    // Every byte is a token: a 3-character stop string spans 3 tokens.
    const stop = [...full.text].slice(6, 9).join('');
    const cut = full.text.slice(0, full.text.indexOf(stop));
    const { deltas, result } = await drain(
      e.generate(PROMPTS[1]!, { maxTokens: 40, temperature: 0, stop: ['never appears', stop] }),
    );
    expect(result.text).toBe(cut);
    expect(result.finishReason).toBe('stop');
    expect(result.stop).toBe(stop);
    expect(deltas.map((d) => d.text).join('')).toBe(cut);
    expect(result.tokenIds).toEqual(full.tokenIds.slice(0, result.tokenIds.length));
    expect(e.metrics.numFreeBlocks).toBe(e.metrics.numBlocks);
    await e.close();
  });

  it('stops at a stop token id, leaving it out of the ids and the text', async () => {
    const e = await engine();
    const full = await e.generate(PROMPTS[0]!, { maxTokens: 30, temperature: 0 }).result;
    const token = full.tokenIds[5]!;
    const first = full.tokenIds.indexOf(token);
    const result = await e.generate(PROMPTS[0]!, {
      maxTokens: 30,
      temperature: 0,
      stopTokenIds: [token],
    }).result;
    expect(result.tokenIds).toEqual(full.tokenIds.slice(0, first));
    expect(result.usage.completionTokens).toBe(first + 1);
    expect(result.finishReason).toBe('stop');
    expect(result.stop).toBe(token);
    expect(result.text).toBe(model.tokenizer.decode(result.tokenIds, { skipSpecialTokens: true }));
    await e.close();
  });

  it('applies a logit bias: a banned token never comes, a favoured one always does', async () => {
    const e = await engine();
    const full = await e.generate(PROMPTS[0]!, { maxTokens: 12, temperature: 0 }).result;
    const first = full.tokenIds[0]!;
    const banned = await e.generate(PROMPTS[0]!, {
      maxTokens: 12,
      temperature: 0,
      logitBias: new Map([[first, -100]]),
    }).result;
    expect(banned.tokenIds).not.toContain(first);
    // Seeded sampling under a bias: every token is the favoured one, in a batch with others.
    const [favoured, other] = await Promise.all([
      e.generate(PROMPTS[1]!, { maxTokens: 6, seed: 3, logitBias: new Map([[65, 100]]) }).result,
      e.generate(PROMPTS[2]!, { maxTokens: 6, temperature: 0 }).result,
    ]);
    expect(favoured.tokenIds).toEqual([65, 65, 65, 65, 65, 65]);
    expect(other.tokenIds).not.toEqual([65, 65, 65, 65, 65, 65]);
    await e.close();
  });

  it('reports log-probabilities of each token and its top alternatives when asked', async () => {
    const e = await engine();
    const plain = await e.generate(PROMPTS[0]!, { maxTokens: 6, temperature: 0 }).result;
    expect(plain.logprobs).toBeUndefined();
    const { deltas, result } = await drain(
      e.generate(PROMPTS[0]!, { maxTokens: 6, temperature: 0, logprobs: 2 }),
    );
    expect(result.tokenIds).toEqual(plain.tokenIds);
    expect(result.logprobs).toHaveLength(result.tokenIds.length);
    expect(deltas.flatMap((d) => d.logprobs ?? [])).toEqual(result.logprobs);
    result.logprobs!.forEach((lp, i) => {
      expect(lp.top).toHaveLength(2);
      expect(lp.top[0]!.tokenId).toBe(result.tokenIds[i]); // greedy takes the most likely
      expect(lp.logprob).toBe(lp.top[0]!.logprob);
      expect(lp.top[1]!.logprob).toBeLessThanOrEqual(lp.top[0]!.logprob);
      expect(lp.logprob).toBeLessThan(0);
    });
    const sampledOnly = await e.generate(PROMPTS[0]!, { maxTokens: 3, logprobs: 0 }).result;
    expect(sampledOnly.logprobs?.map((lp) => lp.top)).toEqual([[], [], []]);
    await e.close();
  });

  it('ends at maxTokens with finish reason length', async () => {
    const e = await engine();
    const result = await e.generate('x', { maxTokens: 3, temperature: 0 }).result;
    expect(result.usage.completionTokens).toBe(3);
    expect(result.finishReason).toBe('length');
    await e.close();
  });
});

describe.each(executors)('InferenceEngine: aborts and failures on %s', (_, executor) => {
  const engine = (options: Partial<EngineOptions> = {}) => makeEngine({ executor, ...options });
  it('frees every block of a request aborted mid-stream at once, and the others finish', async () => {
    const e = await engine();
    const controller = new AbortController();
    const others = PROMPTS.slice(1).map((p) => e.generate(p, { maxTokens: 30, temperature: 0 }));
    const victim = e.generate(PROMPTS[0]!, { maxTokens: 30 }, { signal: controller.signal });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const delta of victim) {
        seen.push(delta.text);
        if (seen.length === 3) {
          const before = e.metrics.numFreeBlocks;
          controller.abort(new Error('client went away'));
          expect(e.metrics.numFreeBlocks).toBeGreaterThan(before);
          expect(e.request(victim.id)).toBeUndefined();
        }
      }
    })();
    await expect(reading).rejects.toThrow('client went away');
    await expect(victim.result).rejects.toThrow('client went away');
    const results = await Promise.all(others.map((s) => s.result));
    expect(results.every((r) => r.usage.completionTokens > 0)).toBe(true);
    expect(e.metrics).toMatchObject({ numFreeBlocks: 64, requestsAborted: 1, numRunning: 0 });
    await e.close();
  });

  it('aborts a request whose reader leaves the loop early', async () => {
    const e = await engine();
    const stream = e.generate(PROMPTS[0]!, { maxTokens: 50 });
    for await (const _ of stream) break;
    await expect(stream.result).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    expect(e.hasPendingWork()).toBe(false);
    expect(e.metrics.numFreeBlocks).toBe(64);
    await e.close();
  });

  it('rejects a prompt too long for maxModelLen with the reason, while others proceed', async () => {
    const e = await engine({ maxModelLen: 64 });
    const ok = e.generate(PROMPTS[0]!, { maxTokens: 8, temperature: 0 });
    const call = () => e.generate('y'.repeat(100), { maxTokens: 8 });
    expect(call).toThrow(EngineError);
    expect(call).toThrow(expect.objectContaining({ code: 'ENGINE_REQUEST_REJECTED' }));
    expect(call).toThrow('the prompt has 100 tokens; maxModelLen 64 leaves no room to generate');
    expect((await ok.result).usage.completionTokens).toBe(8);
    expect(e.metrics.requestsRejected).toBe(3);
    await e.close();
  });

  it('names the generation parameter that is out of range', async () => {
    const e = await engine();
    expect(() => e.generate('x', { temperature: 2.5 })).toThrow(GenerationParamsError);
    expect(() => e.generate('x', { topP: 0 })).toThrow(/^topP: /);
    expect(() => e.generate([0, 300, 1])).toThrow(
      'prompt token 1 is 300, outside the vocabulary (0..256)',
    );
    expect(() => e.generate('x', { logitBias: new Map([[300, 1]]) })).toThrow(
      'logitBias: token id 300 is outside the vocabulary (0..256)',
    );
    expect(e.hasPendingWork()).toBe(false);
    await e.close();
  });

  it('fails the requests of a batch the executor throws on, frees their blocks and goes on', async () => {
    let failNext = false;
    const e = await engine({
      executor: (m, kv) => {
        const inner = new ReversingExecutor(m, kv);
        return {
          config: inner.config,
          kvCache: inner.kvCache,
          execute(batch: ForwardBatch): Promise<ForwardResult> {
            if (failNext) {
              failNext = false;
              return Promise.reject(new Error('device lost'));
            }
            return inner.execute(batch);
          },
          dispose: () => inner.dispose(),
        } satisfies ModelExecutor;
      },
    });
    failNext = true;
    const doomed = e.generate(PROMPTS[0]!, { maxTokens: 5 });
    await expect(doomed.result).rejects.toMatchObject({
      code: 'ENGINE_EXECUTOR_FAILED',
      message: 'the executor failed: device lost',
    });
    expect(e.metrics.numFreeBlocks).toBe(64);
    expect((await e.generate(PROMPTS[0]!, { maxTokens: 5 }).result).usage.completionTokens).toBe(5);
    expect(e.metrics.requestsFailed).toBe(1);
    await e.close();
  });

  it('fails unfinished requests when closed, and takes no more', async () => {
    const e = await engine();
    const stream = e.generate(PROMPTS[0]!, { maxTokens: 200 });
    await e.close();
    await expect(stream.result).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
    expect(() => e.generate('x')).toThrow(expect.objectContaining({ code: 'ENGINE_CLOSED' }));
  });
});

describe('InferenceEngine: the source API', () => {
  it('submits requests, steps to completion and reports metrics', async () => {
    const e = await engine();
    const params = { maxTokens: 12, temperature: 0 };
    const ids = PROMPTS.slice(0, 3).map((p) => e.submitRequest(p, params));
    expect(e.request(ids[0]!)).toMatchObject({ state: 'pending', maxTokens: 12, topP: 0.9 });
    expect(e.hasPendingWork()).toBe(true);
    const first = await e.step();
    expect(first).toEqual([]);
    expect(e.request(ids[0]!)?.state).toBe('decode');
    const rest = await e.run();
    expect(e.hasPendingWork()).toBe(false);
    expect(rest.map((c) => c.requestId).sort()).toEqual(ids);
    for (const done of rest) {
      const alone = await e.generate(done.inputText, params).result;
      expect(done.outputText).toBe(alone.text);
      expect(done.inputTokens).toBe(alone.usage.promptTokens);
      expect(done.generatedTokens).toBe(alone.usage.completionTokens);
    }
    const m = e.metrics;
    expect(m.requestsProcessed).toBe(6);
    expect(m.tokensGenerated).toBeGreaterThanOrEqual(6);
    expect(m.avgLatencyMs).toBeGreaterThan(0);
    expect(m.throughputTokPerSec).toBeGreaterThan(0);
    expect(m.ttftMs.count).toBe(6);
    expect(m.interTokenLatencyMs.p50).toBeGreaterThan(0);
    expect(m.prefixCacheHitRate).toBeGreaterThan(0); // the same prompts came back
    await e.close();
  });

  it('renders the chat template and answers the way generate answers the rendered prompt', async () => {
    const e = await engine();
    const messages = [{ role: 'user', content: 'Hello' }];
    expect(e.renderChat(messages)).toBe('<user>Hello\n<assistant>');
    const chat = await e.chat(messages, { maxTokens: 10, temperature: 0 }).result;
    const plain = await e.generate('<user>Hello\n<assistant>', { maxTokens: 10, temperature: 0 })
      .result;
    expect(chat.text).toBe(plain.text);
    await e.close();
  });

  it('falls back to plain text for a base model without a chat template, and says so', async () => {
    const lines: string[] = [];
    const base = await InferenceEngine.create({
      model: await tinyModel({ tokenizer: byteLevelTokenizer() }),
      maxNumBlocks: 64,
      kvCacheMemoryMb: 64,
      log: (line) => lines.push(line),
    });
    expect(base.info.chatTemplate).toBe('plain');
    expect(lines.join('\n')).toContain('tiny.gguf has no chat template (a base model)');
    const messages = [
      { role: 'system', content: 'Verses.' },
      { role: 'user', content: '  In the beginning ' },
      { role: 'assistant', content: ' God created' },
      { role: 'user', content: 'And the earth' },
    ];
    expect(base.renderChat(messages)).toBe('Verses.\nIn the beginning\nGod created\nAnd the earth');
    const params = { maxTokens: 12, temperature: 0 };
    const chat = await base.chat(messages, params).result;
    const plain = await base.generate(base.renderChat(messages), params).result;
    expect(chat.tokenIds).toEqual(plain.tokenIds);
    expect(chat.text).toBe(plain.text);
    await base.close();
  });

  it('renders with the chatTemplate option instead of the model’s, and rejects one that does not parse', async () => {
    const e = await engine({ chatTemplate: '{{ messages[0].content }}!' });
    expect(e.info.chatTemplate).toBe('option');
    expect(e.renderChat([{ role: 'user', content: 'Hi' }])).toBe('Hi!');
    await e.close();
    const modelOwn = await engine();
    expect(modelOwn.info.chatTemplate).toBe('model');
    await modelOwn.close();
    const bad = engine({ chatTemplate: '{% for %}' });
    await expect(bad).rejects.toThrow(EngineConfigError);
    await expect(bad).rejects.toThrow(/^chatTemplate: /);
  });

  it('idles without stepping once no work is left', async () => {
    const e = await engine();
    await e.generate('x', { maxTokens: 4 }).result;
    const steps = e.metrics.steps;
    await new Promise((r) => setTimeout(r, 30));
    expect(e.metrics.steps).toBe(steps);
    expect(e.hasPendingWork()).toBe(false);
    await e.close();
  });

  it.each(executors)(
    'keeps outputs exact when a small pool forces preemption, on %s',
    async (_, executor) => {
      const params = { maxTokens: 40, temperature: 0 };
      const roomy = await engine({ executor });
      const expected = await Promise.all(PROMPTS.map((p) => roomy.generate(p, params).result));
      await roomy.close();
      // 12 blocks of 16 tokens: not enough for five sequences of up to ~170 tokens at once.
      const tight = await engine({ executor, maxNumBlocks: 12, maxModelLen: 192 });
      const got = await Promise.all(PROMPTS.map((p) => tight.generate(p, params).result));
      expect(got.map((r) => r.text)).toEqual(expected.map((r) => r.text));
      expect(tight.metrics.preemptions).toBeGreaterThan(0);
      expect(tight.metrics.numFreeBlocks).toBe(12);
      await tight.close();
    },
  );
});

describe('InferenceEngine.create', () => {
  it('loads a model from a path through the Node entry point', async () => {
    const { InferenceEngine: NodeEngine } = await import('./index.js');
    const path = join(mkdtempSync(join(tmpdir(), 'xinfer-engine-')), 'tiny.gguf');
    await writeFileChunks(path, syntheticGguf(TINY));
    const e = await NodeEngine.create({ model: path, maxNumBlocks: 64, log: false });
    expect(e.info.model).toBe(path);
    const fromPath = await e.generate(PROMPTS[0]!, { maxTokens: 8, temperature: 0 }).result;
    const inMemory = await (await engine()).generate(PROMPTS[0]!, { maxTokens: 8, temperature: 0 })
      .result;
    expect(fromPath.text).toBe(inMemory.text);
    await e.close();
  });

  it('keeps no copy of the weights it loaded once its executor holds its own', async () => {
    const { InferenceEngine: NodeEngine } = await import('./index.js');
    const path = join(mkdtempSync(join(tmpdir(), 'xinfer-engine-')), 'tiny.gguf');
    await writeFileChunks(path, syntheticGguf(TINY));
    const cpu = await NodeEngine.create({
      model: path,
      executor: 'cpu',
      maxNumBlocks: 64,
      log: false,
    });
    expect(cpu.model.weights).toBeUndefined();
    expect(cpu.model.tokenizer.encode('In').length).toBeGreaterThan(0);
    const ref = await NodeEngine.create({
      model: path,
      executor: 'reference',
      maxNumBlocks: 64,
      log: false,
    });
    expect(ref.model.weights).toBeDefined();
    const params = { maxTokens: 8, temperature: 0 };
    const [a, b] = await Promise.all([
      cpu.generate(PROMPTS[0]!, params).result,
      ref.generate(PROMPTS[0]!, params).result,
    ]);
    expect(a.text).toBe(b.text);
    // A loaded Model stays the caller's: the engine drops nothing of it.
    const given = await engine({ executor: 'cpu' });
    expect(given.model.weights).toBeDefined();
    await Promise.all([cpu.close(), ref.close(), given.close()]);
  });

  it('picks WebGPU by default only on a hardware adapter, and says which it took', async () => {
    const gpu = await requestGpuDevice();
    const software = isSoftwareAdapter(gpu.adapterInfo);
    gpu.device.destroy();
    const lines: string[] = [];
    const e = await engine({ log: (line) => lines.push(line) });
    expect(e.info.executor).toBe(software ? 'CpuWasmExecutor' : 'WebGpuExecutor');
    if (software) expect(lines.join('\n')).toContain('is a CPU emulation');
    await e.close();
  });

  it('runs the CPU executor on the threads asked, with the same greedy text as the reference', async () => {
    const cpu = await engine({ executor: 'cpu', threads: 2 });
    const ref = await engine({ executor: 'reference' });
    expect(cpu.info.executor).toBe('CpuWasmExecutor');
    const params = { maxTokens: 24, temperature: 0 };
    const [a, b] = await Promise.all([
      cpu.generate(PROMPTS[1]!, params).result,
      ref.generate(PROMPTS[1]!, params).result,
    ]);
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(cpu.metrics.numFreeBlocks).toBe(cpu.info.numBlocks);
    await Promise.all([cpu.close(), ref.close()]);
  });

  it('runs the CPU executor with an f16 K/V cache: twice the blocks in the same memory', async () => {
    const f32 = await engine({ executor: 'cpu', maxNumBlocks: 4096, kvCacheMemoryMb: 1 });
    const f16 = await engine({
      executor: 'cpu',
      maxNumBlocks: 4096,
      kvCacheMemoryMb: 1,
      kvCacheDtype: 'f16',
    });
    expect(f16.info.numBlocks).toBe(2 * f32.info.numBlocks);
    // K/V rounded to f16 moves logits by about 1e-3 of their range (the executor's tests bound
    // it); this small random model's near ties can then go the other way, so only the first
    // tokens are compared.
    const params = { maxTokens: 4, temperature: 0 };
    const [a, b] = await Promise.all([
      f32.generate(PROMPTS[1]!, params).result,
      f16.generate(PROMPTS[1]!, params).result,
    ]);
    expect(b.tokenIds[0]).toBe(a.tokenIds[0]);
    expect(f16.metrics.numFreeBlocks).toBe(f16.info.numBlocks);
    await Promise.all([f32.close(), f16.close()]);
  });

  it('says what is wrong with threads and K/V types the CPU executor cannot take', async () => {
    await expect(engine({ executor: 'reference', threads: 2 })).rejects.toThrow(
      expect.objectContaining({ name: 'EngineConfigError', field: 'threads' }),
    );
    await expect(engine({ executor: 'cpu', threads: 0 })).rejects.toThrow(
      expect.objectContaining({ name: 'EngineConfigError', field: 'threads' }),
    );
    await expect(engine({ executor: 'cpu', kvCacheDtype: 'q8_0' })).rejects.toThrow(
      expect.objectContaining({
        name: 'EngineConfigError',
        field: 'kvCacheDtype',
        message: "kvCacheDtype: 'q8_0' has no CPU executor kernels; use 'f16' or 'f32'",
      }),
    );
  });

  it('runs the WebGPU executor with an f16 K/V cache: twice the blocks in the same memory', async () => {
    const e = await engine({
      executor: 'webgpu',
      maxNumBlocks: 1024,
      kvCacheMemoryMb: 0.5,
      kvCacheDtype: 'f16',
    });
    expect(e.info.executor).toBe('WebGpuExecutor');
    expect(e.info.numBlocks).toBe(128);
    const result = await e.generate(PROMPTS[1]!, { maxTokens: 16, temperature: 0 }).result;
    expect(result.tokenIds.length).toBeGreaterThan(0);
    expect(e.metrics.numFreeBlocks).toBe(128);
    await e.close();
    await expect(engine({ executor: 'webgpu', kvCacheDtype: 'q8_0' })).rejects.toThrow(
      expect.objectContaining({
        name: 'EngineConfigError',
        field: 'kvCacheDtype',
        message: "kvCacheDtype: 'q8_0' has no WebGPU kernels; use 'f16' or 'f32'",
      }),
    );
  });

  it('says which executor runs and how the KV cache was sized', async () => {
    const lines: string[] = [];
    const e = await engine({
      executor: 'reference',
      log: (line) => lines.push(line),
      maxNumBlocks: 1024,
      kvCacheMemoryMb: 0.5,
    });
    expect(e.info).toMatchObject({
      executor: 'ReferenceExecutor',
      architecture: 'llama',
      kvCacheSizedBy: 'memory',
      blockSize: 16,
      maxModelLen: 512,
    });
    // 2 layers × 2 KV heads × 16 dims × K and V × 4 bytes × 16 tokens = 8 KiB a block.
    expect(e.info.numBlocks).toBe(64);
    expect(lines.join('\n')).toMatch(/maxNumBlocks 1024 .* using 64 blocks/s);
    expect(lines.at(-1)).toContain('on ReferenceExecutor');
    await e.close();
  });

  it('refuses a KV budget that cannot hold one sequence of maxModelLen', async () => {
    await expect(engine({ kvCacheMemoryMb: 0.05 })).rejects.toThrow(EngineConfigError);
  });

  it('uses a ready executor with its own KV geometry', async () => {
    const executor = new ReversingExecutor(model, { numBlocks: 40, blockSize: 8 });
    const e = await engine({ executor, maxModelLen: 256 });
    expect(e.info).toMatchObject({ kvCacheSizedBy: 'executor', numBlocks: 40, blockSize: 8 });
    expect((await e.generate('x', { maxTokens: 3 }).result).usage.completionTokens).toBe(3);
    await e.close();
  });
});

describe('generateMany (OpenAI n, parallel sampling)', () => {
  it('gives each choice the tokens a request of its own would get, computing the prompt once', async () => {
    let computed = 0;
    const counting = (m: Model, kv: KvCacheShape): ModelExecutor => {
      const inner = new ReferenceExecutor(m, kv);
      return {
        config: inner.config,
        kvCache: inner.kvCache,
        execute(batch: ForwardBatch) {
          computed += batch.tokenIds.length;
          return inner.execute(batch);
        },
        dispose: () => inner.dispose(),
      };
    };
    const prompt = PROMPTS[3]!;
    const params = [1, 2, 3].map((seed) => ({ maxTokens: 6, temperature: 1, seed }));
    const alone = await engine({ executor: 'reference' });
    const want: number[][] = [];
    for (const p of params) want.push((await alone.generate(prompt, p).result).tokenIds);
    await alone.close();

    const e = await engine({ executor: counting, enablePrefixCaching: false });
    const results = await Promise.all(e.generateMany(prompt, params).map((s) => s.result));
    expect(results.map((r) => r.tokenIds)).toEqual(want);
    // Three choices of six tokens from one prompt: the prompt once (all but its last token),
    // its last token three times, then five decodes each.
    const promptLength = results[0]!.promptTokenIds.length;
    expect(computed).toBe(promptLength - 1 + 3 + 3 * 5);
    expect(e.metrics.numFreeBlocks).toBe(64);
    await e.close();
  });

  it('runs choices with different limits as requests of their own', async () => {
    const e = await engine({ executor: 'reference' });
    const streams = e.generateMany('In the beginning', [
      { maxTokens: 2, temperature: 0 },
      { maxTokens: 5, temperature: 0 },
    ]);
    const [a, b] = await Promise.all(streams.map((s) => s.result));
    expect(a!.tokenIds).toHaveLength(2);
    expect(b!.tokenIds.slice(0, 2)).toEqual(a!.tokenIds);
    await e.close();
  });
});
