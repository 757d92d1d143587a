// A tiny static file server over the page's build (dist/), with or without the headers that make
// the page cross-origin isolated. node:http only: the page needs nothing a framework would add.
import { existsSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link startStaticServer}. */
export interface StaticServerOptions {
  /**
   * Send `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy:
   * require-corp` (and `Cross-Origin-Resource-Policy: same-origin`) on every response, which
   * makes the page cross-origin isolated: `SharedArrayBuffer` exists, so the CPU executor runs
   * on Web Workers. Without them it runs on one thread, on the page's own.
   */
  isolated: boolean;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`: never exposed beyond this machine unless asked. */
  host?: string;
  /** The folder served. Default: this package's dist/ (what `pnpm run build` writes). */
  root?: string;
}

/** A listening static server. */
export interface StaticServer {
  /** Base URL, e.g. `http://127.0.0.1:8080/`; the page is at its root. */
  url: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.gguf': 'application/octet-stream',
};

/** This package's dist/, from src/ (tests, typecheck) or from dist/node/ (the built server). */
export function defaultRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('serve: no package.json above the server; pass `root`');
    dir = up;
  }
  return join(dir, 'dist');
}

/**
 * Serves the files directly in `root` (index.html at `/`, page.js, the model): nothing in a
 * subfolder (the built server itself lives in dist/node/), no directory listings, GET and HEAD
 * only. Resolves once it listens.
 * @throws Error when `root` has no index.html (the page is not built)
 */
export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const root = options.root ?? defaultRoot();
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(
      `serve: ${root} has no index.html; build the page first (pnpm --filter @x/browser-demo build)`,
    );
  }
  const isolation: Record<string, string> = options.isolated
    ? {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
      }
    : {};

  const server = createServer(async (req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, {
        ...isolation,
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        send(405, 'method not allowed\n');
        return;
      }
      const { pathname } = new URL(req.url ?? '/', 'http://localhost');
      const name = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
      // One plain file name: no folders, no `..`, no hidden files.
      if (!/^[\w][\w.-]*$/.test(name) || name.includes('..')) {
        send(404, 'not found\n');
        return;
      }
      const file = join(root, name);
      let info: Stats;
      try {
        info = await stat(file);
      } catch {
        send(404, 'not found\n');
        return;
      }
      if (!info.isFile()) {
        send(404, 'not found\n');
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, {
        ...isolation,
        'Content-Type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
        'Content-Length': body.byteLength,
        'Cache-Control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      if (!res.headersSent) send(500, `${(error as Error).message}\n`);
      else res.destroy(error as Error);
    }
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port, family } = server.address() as AddressInfo;
  const shownHost = family === 'IPv6' ? `[${address}]` : address;
  return {
    url: `http://${shownHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
