import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteLevelTokenizer, GgmlType, syntheticGguf, writeFileChunks } from '@x/model';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { runXinfer } from '../testing.js';
import { processStopSignal, serveCommand } from './serve.js';

let model: string;
beforeAll(async () => {
  model = join(mkdtempSync(join(tmpdir(), 'xinfer-serve-')), 'tiny.gguf');
  await writeFileChunks(
    model,
    syntheticGguf({
      architecture: 'llama',
      tokenizer: byteLevelTokenizer(),
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      contextLength: 256,
      weightType: GgmlType.Q8_0,
      logitScale: 4,
      seed: 11,
    }),
  );
});

describe('xinfer serve', () => {
  it('serves until SIGTERM, lets the request in flight finish, and frees every KV block', async () => {
    let stderr = '';
    const io: CliIo = {
      out: () => {},
      err: (text) => {
        stderr += text;
      },
    };
    let stop!: (signal: string) => void;
    const command = serveCommand(
      io,
      () =>
        new Promise((resolve) => {
          stop = resolve;
        }),
    );
    command.exitOverride();
    const running = command.parseAsync(['--model', model, '--port', '0', '--api-key', 'k'], {
      from: 'user',
    });
    for (let i = 0; i < 200 && !stderr.includes('serving'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr)?.[1];
    expect(url, stderr).toBeDefined();
    expect(stderr).toContain('on ReferenceExecutor');
    const inFlight = fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k' },
      // Greedy from 'x' runs its 200 tokens without an end-of-sequence token.
      body: JSON.stringify({ model: 'tiny', prompt: 'x', max_tokens: 200, temperature: 0 }),
    });
    await new Promise((r) => setTimeout(r, 30));
    stop('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(
      ((await response.json()) as { usage: { completion_tokens: number } }).usage,
    ).toMatchObject({ completion_tokens: 200 });
    await running;
    expect(stderr).toMatch(/SIGTERM: finishing 1 request\(s\) in flight/);
    const [, free, total] = /KV blocks free (\d+)\/(\d+)/.exec(stderr) ?? [];
    expect(free).toBe(total);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('resolves its stop signal on SIGTERM', async () => {
    const signal = processStopSignal();
    process.emit('SIGTERM');
    expect(await signal).toBe('SIGTERM');
  });

  it('says in one line that the WebGPU executor is not there yet, or that the model is missing', async () => {
    const webgpu = await runXinfer(['serve', '--model', model, '--executor', 'webgpu']);
    expect(webgpu.exitCode).toBe(1);
    expect(webgpu.stderr.trim()).toBe(
      'the WebGPU executor is not available yet; use --executor reference',
    );
    const missing = await runXinfer(['serve', '--model', '/nowhere/model.gguf', '--port', '0']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('/nowhere/model.gguf');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
