import { Hono } from 'hono';

/** An error body in the OpenAI API's shape. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The OpenAI-shaped error body for `message`. */
export function openAiError(
  message: string,
  type = 'invalid_request_error',
  code: string | null = null,
  param: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * The HTTP application: routes and error handling, with no socket of its own, so it can be
 * mounted in any server (Node, Deno, Bun, a worker) or exercised with `app.request()`.
 */
export function createApp(): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.notFound((c) =>
    c.json(openAiError(`no route for ${c.req.method} ${c.req.path}`, 'not_found_error'), 404),
  );
  app.onError((err, c) =>
    c.json(openAiError(`internal error: ${err.message}`, 'server_error'), 500),
  );
  return app;
}
