/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { demoModelPath } from '@x/demo-model';
import { InferenceEngine } from '@x/engine';
import { loadModel } from '@x/model';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, startStaticServer } from './serve.js';

// A real browser: Debian's chromium (scripts/ensure-chromium.sh installs it), driven by
// playwright-core, on a phone-sized screen, over the page that `pnpm run build` wrote to dist/
// (turbo runs the build before the test).
const CHROMIUM = process.env.XINFER_CHROMIUM ?? '/usr/bin/chromium';
const PROMPT = 'In the beginning';
const MAX_TOKENS = 24;

let browser: Browser;
let expected: string;
let isolatedServer: StaticServer;
let plainServer: StaticServer;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: run scripts/ensure-chromium.sh (apt-get install chromium) or set XINFER_CHROMIUM`,
    );
  }
  // What the page must produce: Node's reference executor, greedy, on the same file.
  const engine = await InferenceEngine.create({
    model: await loadModel(demoModelPath),
    executor: 'reference',
    log: false,
  });
  try {
    const result = await engine.generate(PROMPT, { temperature: 0, maxTokens: MAX_TOKENS }).result;
    expect(result.finishReason).toBe('length');
    expect(result.tokenIds).toHaveLength(MAX_TOKENS);
    expected = result.text;
  } finally {
    await engine.close();
  }
  expect(expected.trim().split(' ').length).toBeGreaterThan(10);
  [isolatedServer, plainServer] = await Promise.all([
    startStaticServer({ isolated: true }),
    startStaticServer({ isolated: false }),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await isolatedServer?.close();
  await plainServer?.close();
});

interface PageRun {
  page: Page;
  /** Uncaught errors and console errors, as they came. */
  errors: string[];
  state: string | undefined;
  executor: string | undefined;
  threads: string | undefined;
  isolated: string | undefined;
  output: string;
  notes: string[];
  error: string;
  /** How often #output changed while the text streamed in. */
  updates: number;
}

/** Opens the page with `query` (autostart, the prompt, max_tokens) and waits for done or error. */
async function runPage(
  server: StaticServer,
  query: string,
  maxTokens = MAX_TOKENS,
): Promise<PageRun> {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  // Count changes to #output from the start: the module script runs before DOMContentLoaded, and
  // generation waits for the model's download, long after.
  await page.addInitScript(() => {
    const w = window as unknown as { updates: number };
    w.updates = 0;
    document.addEventListener('DOMContentLoaded', () => {
      new MutationObserver(() => {
        w.updates++;
      }).observe(document.getElementById('output')!, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
  });
  const params = new URLSearchParams(query);
  params.set('prompt', PROMPT);
  params.set('max_tokens', String(maxTokens));
  params.set('autostart', '1');
  await page.goto(`${server.url}?${params}`);
  await page.waitForFunction(
    () => ['done', 'error'].includes(document.getElementById('status')?.dataset.state ?? ''),
    null,
    { timeout: 90_000 },
  );
  const seen = await page.evaluate(() => {
    const status = document.getElementById('status')!;
    return {
      state: status.dataset.state,
      executor: status.dataset.executor,
      threads: status.dataset.threads,
      isolated: status.dataset.isolated,
      output: document.getElementById('output')!.textContent ?? '',
      notes: [...document.querySelectorAll('#notes li')].map((li) => li.textContent ?? ''),
      error: document.getElementById('error')!.textContent ?? '',
      updates: (window as unknown as { updates: number }).updates,
      crossOriginIsolated: window.crossOriginIsolated,
      scrollWidth: document.documentElement.scrollWidth,
    };
  });
  // The page's own report of isolation is the browser's; and it fits a phone's width.
  expect(seen.isolated).toBe(String(seen.crossOriginIsolated));
  expect(seen.scrollWidth).toBeLessThanOrEqual(390);
  return { page, errors, ...seen };
}

describe('the browser demo page, in Chromium', () => {
  it('generates Node’s greedy text on the CPU executor with 2 worker threads when cross-origin isolated', async () => {
    const run = await runPage(isolatedServer, 'executor=cpu&threads=2');
    expect(run.error).toBe('');
    expect(run.errors).toEqual([]);
    expect(run.isolated).toBe('true');
    expect(run.state).toBe('done');
    expect(run.executor).toBe('CpuWasmExecutor');
    expect(run.threads).toBe('2');
    // Not only the executor's word: Chromium runs two Web Workers for the page.
    expect(run.page.workers()).toHaveLength(2);
    expect(run.output).toBe(expected);
    // Streamed token by token, not written once at the end.
    expect(run.updates).toBeGreaterThan(MAX_TOKENS / 2);
    expect(await run.page.locator('#status').textContent()).toContain('2 threads');
    expect(await run.page.locator('#generate').isEnabled()).toBe(true);
    await run.page.close();
  });

  it('generates the same text on one thread when the page is not cross-origin isolated', async () => {
    const run = await runPage(plainServer, 'executor=cpu');
    expect(run.error).toBe('');
    expect(run.errors).toEqual([]);
    expect(run.isolated).toBe('false');
    expect(run.state).toBe('done');
    expect(run.executor).toBe('CpuWasmExecutor');
    expect(run.threads).toBe('1');
    expect(run.page.workers()).toHaveLength(0);
    expect(run.output).toBe(expected);
    expect(run.updates).toBeGreaterThan(MAX_TOKENS / 2);
    expect(run.notes.join('\n')).toContain('not cross-origin isolated');
    await run.page.close();
  });

  it('generates again from the text box and the Generate button', async () => {
    const run = await runPage(isolatedServer, 'executor=cpu&threads=2');
    expect(run.output).toBe(expected);
    const { page } = run;
    await page.fill('#prompt', 'And God said');
    await page.fill('#max-tokens', '8');
    await page.click('#generate');
    await expect
      .poll(() => page.locator('#status').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('done');
    const engine = await InferenceEngine.create({
      model: await loadModel(demoModelPath),
      executor: 'reference',
      log: false,
    });
    try {
      const again = await engine.generate('And God said', { temperature: 0, maxTokens: 8 }).text();
      expect(await page.locator('#output').textContent()).toBe(again);
      expect(await page.locator('#prompt-echo').textContent()).toBe('And God said');
    } finally {
      await engine.close();
    }
    expect(run.errors).toEqual([]);
    await page.close();
  });

  // WebGPU where Chromium has an adapter; where it has none (this repository's CI: no GPU), the
  // page must say so: `webgpu` fails in the page with the reason, `auto` falls back to the CPU.
  it('runs WebGPU where Chromium has an adapter, and says clearly when it has none', async () => {
    const probe = await browser.newPage();
    await probe.goto(isolatedServer.url.replace(/\/$/, '/no-such-file'));
    const adapter = await probe.evaluate(async () => {
      const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return gpu ? (await gpu.requestAdapter()) !== null : false;
    });
    await probe.close();

    const auto = await runPage(isolatedServer, 'executor=auto');
    expect(auto.error).toBe('');
    expect(auto.errors).toEqual([]);
    expect(auto.state).toBe('done');
    expect(auto.output).toBe(expected);
    await auto.page.close();

    const webgpu = await runPage(isolatedServer, 'executor=webgpu');
    await webgpu.page.close();
    if (adapter) {
      expect(webgpu.error).toBe('');
      expect(webgpu.errors).toEqual([]);
      expect(webgpu.executor).toBe('WebGpuExecutor');
      expect(webgpu.threads).toBe('');
      expect(webgpu.output).toBe(expected);
      return;
    }
    // No adapter: `auto` says why it runs on the CPU, and `webgpu` fails in the page, visibly.
    expect(auto.executor).toBe('CpuWasmExecutor');
    expect(auto.notes.join('\n')).toMatch(/no WebGPU adapter.*running on CpuWasmExecutor/);
    expect(webgpu.state).toBe('error');
    expect(webgpu.output).toBe('');
    expect(webgpu.error).toMatch(/^GpuUnavailableError: no WebGPU adapter/);
    expect(webgpu.notes.join('\n')).toContain('WebGPU is unavailable in this browser');
    expect(webgpu.errors).toHaveLength(1);
    expect(webgpu.errors[0]).toMatch(/^console\.error: GpuUnavailableError/);
  });

  it('holds the output to a JSON Schema or a GBNF grammar (xgrammar fetched as its own chunk)', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { enum: ['Moses', 'Aaron', 'David'] },
        verse: { type: 'integer', minimum: 1, maximum: 50 },
      },
      required: ['name', 'verse'],
    };
    // JSON is a token a character or two in the demo's vocabulary: room for all of it.
    const json = await runPage(
      isolatedServer,
      `executor=cpu&json_schema=${encodeURIComponent(JSON.stringify(schema))}`,
      80,
    );
    expect(json.error).toBe('');
    expect(json.errors).toEqual([]);
    expect(json.state).toBe('done');
    const value = JSON.parse(json.output);
    expect(Object.keys(value)).toEqual(['name', 'verse']);
    expect(['Moses', 'Aaron', 'David']).toContain(value.name);
    expect(value.verse >= 1 && value.verse <= 50 && Number.isInteger(value.verse)).toBe(true);
    await json.page.close();
    const gbnf = await runPage(
      plainServer,
      `executor=cpu&grammar=${encodeURIComponent('root ::= ("yea" | "nay") ", " [a-z]{2,5}')}`,
      80,
    );
    expect(gbnf.error).toBe('');
    expect(gbnf.output).toMatch(/^(yea|nay), [a-z]{2,5}$/);
    await gbnf.page.close();
  });

  it('shows a bad address setting as an error in the page', async () => {
    const run = await runPage(isolatedServer, 'executor=tpu');
    expect(run.state).toBe('error');
    expect(run.error).toContain('executor must be one of cpu, webgpu, auto, got "tpu"');
    expect(run.output).toBe('');
    await run.page.close();
  });
});
