/** Stable codes of {@link EngineError}. */
export type EngineErrorCode =
  /** The request can never run: empty prompt, a prompt with no room under `maxModelLen`, a token id outside the vocabulary. */
  | 'ENGINE_REQUEST_REJECTED'
  /** The waiting queue holds `maxWaitingRequests`; try again later. */
  | 'ENGINE_QUEUE_FULL'
  /** The request was aborted (`engine.abort(id)`, or `close()`) before it finished. */
  | 'ENGINE_ABORTED'
  /** The executor failed on a batch this request was in. */
  | 'ENGINE_EXECUTOR_FAILED'
  /** `chat()` on a model that has no chat template, or a template that fails on the messages. */
  | 'ENGINE_CHAT_TEMPLATE'
  /** The engine is closed. */
  | 'ENGINE_CLOSED'
  /** A generation stream read a second time. */
  | 'ENGINE_STREAM_CONSUMED'
  /** A bug in the engine (a scheduler plan it cannot run): every request fails with it. */
  | 'ENGINE_INTERNAL';

/** Why a request could not be taken or did not finish; `requestId` names it when it has one. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  readonly requestId: number | undefined;

  constructor(
    message: string,
    code: EngineErrorCode,
    options: { requestId?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.requestId = options.requestId;
  }
}
