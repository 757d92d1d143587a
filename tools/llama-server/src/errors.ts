/** An error body in the OpenAI API's shape: what every non-2xx answer of the server carries. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The HTTP statuses the server answers errors with. */
export type ErrorStatus = 400 | 404 | 405 | 413 | 500 | 503;

/**
 * An error the server answers with `status` and an OpenAI-shaped body. `code` is OpenAI's (or
 * `null`), stable for callers to match on.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: ErrorStatus,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }

  /** The body to send. */
  get body(): OpenAiErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** Any error as the {@link HttpError} to answer with: 500 for anything unexpected. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  return new HttpError(500, `internal error: ${(error as Error)?.message ?? String(error)}`);
}
