import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceEngine } from '@x/engine';
import { startServer } from '@x/server';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { writeTinyModel } from '../test-helpers.js';
import { runXinfer } from '../testing.js';
import { processStopSignal, serveCommand } from './serve.js';

let model: string;
beforeAll(async () => {
  model = await writeTinyModel({ contextLength: 256 });
});

/** Runs `xinfer serve` in this process until `stop(signal)`; resolves once it is serving. */
async function serveInProcess(args: string[]) {
  let stderr = '';
  const io: CliIo = {
    out: () => {},
    err: (text) => {
      stderr += text;
    },
  };
  let stop!: (signal: string) => void;
  const command = serveCommand(io, () => new Promise((resolve) => (stop = resolve)));
  command.exitOverride();
  const running = command.parseAsync(args, { from: 'user' });
  for (let i = 0; i < 3000 && !stderr.includes('serving'); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr)?.[1];
  expect(url, stderr).toBeDefined();
  return { url: url!, running, stop, stderr: () => stderr };
}

describe('xinfer serve', () => {
  it('serves until SIGTERM, lets the request in flight finish, and frees every KV block', async () => {
    const serve = await serveInProcess(['--model', model, '--port', '0', '--api-key', 'k']);
    const { url, running, stop } = serve;
    expect(serve.stderr()).toContain('on CpuWasmExecutor');
    const inFlight = fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k' },
      // Greedy from 'x' runs its 200 tokens without an end-of-sequence token.
      body: JSON.stringify({ model: 'tiny', prompt: 'x', max_tokens: 200, temperature: 0 }),
    });
    // Stop once the server has the request in flight.
    for (let i = 0; i < 300; i++) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      if (metrics.includes('xinfer_running_requests 1')) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    stop('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(
      ((await response.json()) as { usage: { completion_tokens: number } }).usage,
    ).toMatchObject({ completion_tokens: 200 });
    await running;
    expect(serve.stderr()).toMatch(/SIGTERM: finishing 1 request\(s\) in flight/);
    const [, free, total] = /KV blocks free (\d+)\/(\d+)/.exec(serve.stderr()) ?? [];
    expect(free).toBe(total);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('serves on the WebGPU executor with --executor webgpu (lavapipe where there is no GPU)', async () => {
    const serve = await serveInProcess(['--model', model, '--port', '0', '--executor', 'webgpu']);
    const { url, running, stop } = serve;
    expect(serve.stderr()).toContain('on WebGpuExecutor');
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny',
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 8,
        temperature: 0,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    stop('SIGTERM');
    await running;
    const [, free, total] = /KV blocks free (\d+)\/(\d+)/.exec(serve.stderr()) ?? [];
    expect(free).toBe(total);
  }, 120_000);

  it('takes an xinfer bench run with a third of the clients disconnecting, and frees every block', async () => {
    const engine = await InferenceEngine.create({ model, log: false, maxNumBlocks: 128 });
    const server = await startServer({ engine, port: 0 });
    try {
      const out = join(mkdtempSync(join(tmpdir(), 'xinfer-bench-')), 'run.json');
      const run = await runXinfer([
        'bench',
        '--url',
        `${server.url}/v1`,
        '--model',
        'tiny',
        '--runtime-name',
        'xinfer',
        '--out',
        out,
        '--concurrency',
        '8',
        '--requests',
        '30',
        '--max-tokens',
        '40',
        '--disconnect-fraction',
        '0.34',
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      // 10 of the 30 are chosen to disconnect after 1–20 chunks; one that ends sooner completes.
      const [, done, cut] =
        /: (\d+) requests \(0 failed\) .*; (\d+) disconnected on purpose\n$/.exec(run.stdout) ?? [
          run.stdout,
        ];
      expect(Number(done) + Number(cut)).toBe(30);
      expect(Number(cut)).toBeGreaterThan(0);
      for (let i = 0; i < 100 && engine.metrics.numFreeBlocks < engine.metrics.numBlocks; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(engine.metrics).toMatchObject({ numFreeBlocks: 128, numRunning: 0, numWaiting: 0 });
      // A client that drops right after a stream's last token finds it already finished.
      expect(engine.metrics.requestsAborted).toBeGreaterThan(0);
      expect(engine.metrics.requestsAborted).toBeLessThanOrEqual(Number(cut));
    } finally {
      await server.close();
      await engine.close();
    }
  });

  it('resolves its stop signal on SIGTERM', async () => {
    const signal = processStopSignal();
    process.emit('SIGTERM');
    expect(await signal).toBe('SIGTERM');
  });

  it('says in one line that the model is missing', async () => {
    const missing = await runXinfer(['serve', '--model', '/nowhere/model.gguf', '--port', '0']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('/nowhere/model.gguf');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
