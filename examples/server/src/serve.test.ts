import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './serve.js';

describe('startServer', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('binds 127.0.0.1 by default and answers /health over HTTP', async () => {
    server = await startServer({ port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers an unknown route with a 404 in the OpenAI error shape', async () => {
    server = await startServer({ port: 0 });
    const response = await fetch(`${server.url}/v1/nope`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: 'no route for POST /v1/nope',
        type: 'not_found_error',
        param: null,
        code: null,
      },
    });
  });

  it('rejects when the port is taken, leaving the first server up', async () => {
    server = await startServer({ port: 0 });
    const port = Number(new URL(server.url).port);
    await expect(startServer({ port })).rejects.toThrow(/EADDRINUSE/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
