/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { demoModelPath } from '@x/demo-model';
import { InferenceEngine } from '@x/engine';
import { loadModel } from '@x/model';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer } from './serve.js';
import { tinyServer } from './test-helpers.js';

// A real browser: Debian's chromium (scripts/ensure-chromium.sh installs it), driven by
// playwright-core, on a phone-sized screen.
const CHROMIUM = process.env.XINFER_CHROMIUM ?? '/usr/bin/chromium';

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: run scripts/ensure-chromium.sh (apt-get install chromium) or set XINFER_CHROMIUM`,
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

it('types a message into the chat page and sees the reply stream in', async () => {
  // The reference executor: it computes a token in milliseconds, so the page sees the reply grow
  // over many frames. The CPU executor ('auto' here) writes this tiny model's 40 tokens within a
  // frame or two, which the browser may show as one change.
  const { server, engine } = await tinyServer({ executor: 'reference' });
  try {
    const expected = await engine.chat([{ role: 'user', content: 'Hello' }], {
      temperature: 0,
      maxTokens: 40,
    }).result;
    expect(expected.text.length).toBeGreaterThan(5);

    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${server.url}/?temperature=0&max_tokens=40`);
    await expect.poll(() => page.textContent('#model')).toBe('tiny');
    // Count how often the reply changes while it streams in.
    await page.evaluate(() => {
      const w = window as unknown as { updates: number };
      w.updates = 0;
      new MutationObserver(() => {
        w.updates++;
      }).observe(document.getElementById('log')!, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    await page.fill('#input', 'Hello');
    await page.press('#input', 'Enter');
    const reply = page.locator('.msg.assistant');
    await expect.poll(() => reply.textContent(), { timeout: 20_000 }).toBe(expected.text);
    expect(await page.locator('.msg.user').textContent()).toBe('Hello');
    expect(
      await page.evaluate(() => (window as unknown as { updates: number }).updates),
    ).toBeGreaterThan(3);
    // Usable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    expect(await page.locator('#send').isEnabled()).toBe(true);
    await page.close();
  } finally {
    await server.close();
    await engine.close();
  }
}, 60_000);

// The page as a user meets it: the bundled demo model (a 256-token context) and no settings in the
// address, so the page sends no max_tokens and the server gives each reply the room that is left.
// Replies run long, so the third message no longer fits with the first two exchanges: the page
// leaves the oldest out and says so instead of failing.
it('chats with the bundled demo model, three messages, without an error', async () => {
  const engine = await InferenceEngine.create({
    model: await loadModel(demoModelPath),
    executor: 'reference',
    log: false,
  });
  const server = await startServer({ engine, port: 0 });
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.textContent('#model')).not.toBe('…');
    const messages = ['And God said', 'Who is the LORD?', 'Tell me of Israel'];
    for (const [i, message] of messages.entries()) {
      await page.fill('#input', message);
      await page.press('#input', 'Enter');
      // The reply's bubble appears once the message is sent; the button comes back when it ends.
      await expect
        .poll(() => page.locator('.msg.assistant').count(), { timeout: 60_000 })
        .toBe(i + 1);
      await expect.poll(() => page.locator('#send').isEnabled(), { timeout: 60_000 }).toBe(true);
      expect(await page.locator('.msg.error').allTextContents()).toEqual([]);
      const reply = await page.locator('.msg.assistant').nth(i).textContent();
      expect(reply?.trim().length).toBeGreaterThan(0);
    }
    expect(await page.locator('.msg.user').allTextContents()).toEqual(messages);
    await page.close();
  } finally {
    await server.close();
    await engine.close();
  }
}, 180_000);
