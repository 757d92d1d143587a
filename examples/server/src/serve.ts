import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type AppOptions, createApp, type ServerApp } from './app.js';

/** Options of {@link startServer}. */
export interface ServerOptions extends AppOptions {
  /** Interface to bind. Default `127.0.0.1`: never exposed beyond this machine unless asked. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8000. */
  port?: number;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** The application, for its metrics and in-flight count. */
  app: ServerApp;
  /**
   * Graceful stop: refuses new requests (503), lets those in flight finish for up to
   * `deadlineMs`, aborts what is left, then closes every connection. Resolves with how many
   * requests were aborted at the deadline.
   */
  shutdown(deadlineMs?: number): Promise<{ aborted: number }>;
  /** Stops at once: aborts requests in flight and closes every connection. */
  close(): Promise<void>;
}

/** Starts the HTTP server for an engine and resolves once it listens. */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8000;
  const app = createApp(options);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.app.fetch, hostname: host, port }, (info: AddressInfo) => {
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      const closed = new Promise<void>((done) => server.once('close', () => done()));
      const closeAll = async () => {
        server.close();
        if ('closeAllConnections' in server) server.closeAllConnections();
        await closed;
      };
      resolve({
        url: `http://${shownHost}:${info.port}`,
        app,
        async shutdown(deadlineMs = 30_000) {
          // Node's server.close() also drops connections it deems idle, which can include one
          // whose request is still being answered: keep listening, refuse new requests (503),
          // and close the sockets only once the requests in flight are done.
          app.drain();
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            app.idle().then(() => false),
            new Promise<boolean>((done) => {
              timer = setTimeout(() => done(true), deadlineMs);
            }),
          ]);
          clearTimeout(timer);
          const aborted = timedOut ? app.inFlight : 0;
          if (timedOut) {
            app.abortAll(new Error('the server shut down before the request finished'));
            await app.idle();
          }
          await closeAll();
          return { aborted };
        },
        async close() {
          app.drain();
          app.abortAll(new Error('the server closed'));
          await closeAll();
        },
      });
    });
    server.once('error', reject);
  });
}
