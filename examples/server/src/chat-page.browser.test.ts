/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
  const { server, engine } = await tinyServer();
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
