import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoModelInfo } from '@x/demo-model';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRoot, startStaticServer } from './serve.js';

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

const root = mkdtempSync(join(tmpdir(), 'xinfer-browser-demo-'));
writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
writeFileSync(join(root, 'page.js'), 'export {};');
mkdirSync(join(root, 'node'));
writeFileSync(join(root, 'node', 'serve.js'), '// server');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const headersOf = (response: Response) => ({
  'cross-origin-opener-policy': response.headers.get('cross-origin-opener-policy'),
  'cross-origin-embedder-policy': response.headers.get('cross-origin-embedder-policy'),
  'cross-origin-resource-policy': response.headers.get('cross-origin-resource-policy'),
});

describe('startStaticServer', () => {
  it('sends COOP, COEP and CORP on every response when isolated, found or not', async () => {
    const server = await startStaticServer({ isolated: true, root });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await fetch(server.url);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await index.text()).toContain('<title>t</title>');
      expect(headersOf(index)).toEqual(ISOLATION);
      const script = await fetch(`${server.url}page.js`);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(headersOf(script)).toEqual(ISOLATION);
      const missing = await fetch(`${server.url}missing.js`);
      expect(missing.status).toBe(404);
      expect(headersOf(missing)).toEqual(ISOLATION);
    } finally {
      await server.close();
    }
  });

  it('sends none of them when not isolated', async () => {
    const server = await startStaticServer({ isolated: false, root });
    try {
      const index = await fetch(server.url);
      expect(index.status).toBe(200);
      expect(headersOf(index)).toEqual({
        'cross-origin-opener-policy': null,
        'cross-origin-embedder-policy': null,
        'cross-origin-resource-policy': null,
      });
    } finally {
      await server.close();
    }
  });

  it('serves only the files directly in its root, GET and HEAD only', async () => {
    const server = await startStaticServer({ isolated: false, root });
    try {
      for (const path of ['node/serve.js', 'node%2Fserve.js', '..%2Fpackage.json', '.hidden']) {
        expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
      }
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
      const head = await fetch(`${server.url}page.js`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('10');
    } finally {
      await server.close();
    }
  });

  it('refuses to start over a folder without the built page', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'xinfer-browser-demo-empty-'));
    try {
      await expect(startStaticServer({ isolated: true, root: empty })).rejects.toThrow(
        /has no index\.html; build the page first/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('serves the build: the page, its script and the demo model', async () => {
    const server = await startStaticServer({ isolated: true });
    try {
      expect(defaultRoot()).toMatch(/examples[/\\]browser[/\\]dist$/);
      const model = await fetch(`${server.url}${demoModelInfo.file}`, { method: 'HEAD' });
      expect(model.status).toBe(200);
      expect(Number(model.headers.get('content-length'))).toBeGreaterThan(4_000_000);
      expect((await fetch(`${server.url}page.js`, { method: 'HEAD' })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
