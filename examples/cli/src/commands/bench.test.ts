import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLoadTestResult, percentile } from '@x/scoring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runXinfer } from '../testing.js';

// A small OpenAI-compatible SSE server written for this test. The model name picks what it does:
// `steady` waits TTFT_MS, then streams TOKENS tokens ITL_MS apart; `fail` answers HTTP 500;
// `drop` streams two tokens and cuts the connection; `hang` sends headers and nothing more.
const TTFT_MS = 60;
const ITL_MS = 20;
const TOKENS = 8;
const PROMPT_TOKENS = 7;

const received: Array<{
  model: string;
  stream: boolean;
  include_usage: boolean;
  max_tokens: number;
}> = [];
/** What the server actually did for each `steady` request: when the body arrived, when each token left. */
const served: Array<{ receivedAt: number; tokenAt: number[] }> = [];
let server: Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'xinfer-bench-'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const event = (data: unknown) =>
  `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const receivedAt = performance.now();
    const request = JSON.parse(body);
    received.push({
      model: request.model,
      stream: request.stream,
      include_usage: request.stream_options?.include_usage,
      max_tokens: request.max_tokens,
    });
    if (request.model === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'boom' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    if (request.model === 'hang') return;
    await sleep(TTFT_MS);
    const tokens = request.model === 'drop' ? 2 : TOKENS;
    const log = { receivedAt, tokenAt: [] as number[] };
    if (request.model === 'steady') served.push(log);
    for (let i = 0; i < tokens; i++) {
      if (i > 0) await sleep(ITL_MS);
      res.write(
        event({ choices: [{ index: 0, delta: { content: `t${i} ` }, finish_reason: null }] }),
      );
      log.tokenAt.push(performance.now());
    }
    if (request.model === 'drop') {
      res.destroy();
      return;
    }
    res.write(event({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] }));
    res.write(
      event({
        choices: [],
        usage: {
          prompt_tokens: PROMPT_TOKENS,
          completion_tokens: TOKENS,
          total_tokens: PROMPT_TOKENS + TOKENS,
        },
      }),
    );
    res.end(event('[DONE]'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const xinfer = (args: string[]) => runXinfer(args);

function bench(model: string, out: string, ...extra: string[]) {
  return xinfer([
    'bench',
    '--url',
    url,
    '--model',
    model,
    '--runtime-name',
    `${model}-run`,
    '--out',
    out,
    ...extra,
  ]);
}

describe('xinfer bench', () => {
  it('records TTFT, ITL and token counts that match what the server did', async () => {
    const out = join(dir, 'steady.json');
    const before = received.length;
    const { exitCode, stdout, stderr } = await bench(
      'steady',
      out,
      '--concurrency',
      '2',
      '--requests',
      '6',
      '--cold-start',
    );
    expect(exitCode).toBe(0);
    expect(stderr).toBe(''); // not a terminal: no progress bar
    expect(stdout).toContain('6 requests (0 failed)');
    // Six timed requests plus the cold-start probe.
    expect(received.length - before).toBe(7);
    expect(received.at(-1)).toEqual({
      model: 'steady',
      stream: true,
      include_usage: true,
      max_tokens: 128,
    });

    const result = parseLoadTestResult(readFileSync(out, 'utf8'), out);
    expect(result).toMatchObject({
      runtime_name: 'steady-run',
      concurrency: 2,
      total_requests: 6,
      successful: 6,
      failed: 0,
      error_rate: 0,
      completion_tokens_total: 6 * TOKENS,
      prompt_tokens_total: 6 * PROMPT_TOKENS,
      avg_tok_per_req: TOKENS,
      sse_batch_ratio: 1,
      truncated_pct: 100,
    });
    expect(result.request_details).toHaveLength(6);
    // Timing: compare with what the server actually did (same process, same clock), so a loaded
    // machine delays both sides alike. The server aims at 60 ms to the first token, then 20 ms.
    const timed = served.slice(-6);
    const serverTtft = percentile(
      timed.map((r) => r.tokenAt[0]! - r.receivedAt),
      50,
    );
    const serverItl = percentile(
      timed.flatMap((r) => r.tokenAt.slice(1).map((t, i) => t - r.tokenAt[i]!)),
      50,
    );
    expect(serverTtft).toBeGreaterThanOrEqual(TTFT_MS - 2);
    expect(serverItl).toBeGreaterThanOrEqual(ITL_MS - 2);
    // The client's clock starts before the request is sent, so its TTFT is longer by the
    // connection and request: a few ms, tens on a loaded 2-core CI machine; less than the
    // server's own 60 ms, which a client counting from the wrong moment would add or lose.
    expect(result.ttft_p50_ms).toBeGreaterThanOrEqual(serverTtft);
    expect(result.ttft_p50_ms - serverTtft).toBeLessThan(TTFT_MS);
    expect(Math.abs(result.itl_p50_ms - serverItl)).toBeLessThan(5);
    // decode ≈ 1000 / ITL per stream.
    expect(result.decode_tok_per_sec).toBeGreaterThan((1000 / serverItl) * 0.8);
    expect(result.decode_tok_per_sec).toBeLessThan((1000 / serverItl) * 1.25);
    expect(result.cold_start_ms).toBeGreaterThanOrEqual(TTFT_MS - 2);
    expect(result.tail_analysis?.jitter.spike_threshold_ms).toBeCloseTo(5 * result.itl_p50_ms, 10);
  });

  it('counts HTTP errors and dropped streams as failed requests', async () => {
    const failOut = join(dir, 'fail.json');
    expect((await bench('fail', failOut, '--requests', '3')).exitCode).toBe(0);
    const failed = parseLoadTestResult(readFileSync(failOut, 'utf8'), failOut);
    expect(failed).toMatchObject({ total_requests: 3, failed: 3, error_rate: 1 });
    expect(failed.request_details[0]!.error).toContain('HTTP 500');

    const dropOut = join(dir, 'drop.json');
    await bench('drop', dropOut, '--requests', '2');
    const dropped = parseLoadTestResult(readFileSync(dropOut, 'utf8'), dropOut);
    expect(dropped).toMatchObject({ total_requests: 2, failed: 2, error_rate: 1 });
    expect(dropped.request_details[0]!.status).toBe('error');
  });

  it('times out a request that never completes', async () => {
    const out = join(dir, 'hang.json');
    const { exitCode } = await bench('hang', out, '--requests', '1', '--timeout', '0.3');
    expect(exitCode).toBe(0);
    const result = parseLoadTestResult(readFileSync(out, 'utf8'), out);
    expect(result.request_details[0]).toMatchObject({ status: 'timeout' });
    expect(result.request_details[0]!.latency_ms).toBeGreaterThanOrEqual(290);
  });

  it('stops starting requests once --duration has passed', async () => {
    const out = join(dir, 'duration.json');
    await bench('steady', out, '--duration', '0.3', '--concurrency', '1');
    const result = parseLoadTestResult(readFileSync(out, 'utf8'), out);
    // Each request takes ~200 ms: one or two start within 0.3 s, none after.
    expect(result.total_requests).toBeGreaterThanOrEqual(1);
    expect(result.total_requests).toBeLessThanOrEqual(3);
  });

  it('uses the prompts of a JSONL file', async () => {
    const prompts = join(dir, 'prompts.jsonl');
    writeFileSync(
      prompts,
      '{"prompt": "one"}\n{"messages": [{"role": "user", "content": "two"}]}\n',
    );
    const { exitCode } = await bench(
      'steady',
      join(dir, 'p.json'),
      '--requests',
      '2',
      '--prompts',
      prompts,
    );
    expect(exitCode).toBe(0);
  });

  it.each([
    [
      ['--concurrency', '0', '--requests', '1'],
      "option '--concurrency <n>' argument '0' is invalid",
    ],
    [['--requests', '1', '--duration', '1'], 'give exactly one of --duration and --requests'],
    [[], 'give exactly one of --duration and --requests'],
  ])('exits 1 on bad input %j', async (extra, message) => {
    const { exitCode, stderr } = await bench('steady', join(dir, 'bad.json'), ...extra);
    expect(exitCode).toBe(1);
    expect(stderr).toContain(message);
  });

  it('exits 1 naming the missing --url', async () => {
    const { exitCode, stderr } = await xinfer([
      'bench',
      '--model',
      'm',
      '--runtime-name',
      'r',
      '--out',
      'o.json',
      '--requests',
      '1',
    ]);
    expect(exitCode).toBe(1);
    expect(stderr).toContain("required option '--url <url>' not specified");
  });
});
