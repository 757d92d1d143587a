/**
 * The stable codes a {@link BatcherError} carries. Match on `code`, not on the message: messages
 * may be reworded, codes will not change within a major version.
 */
export type BatcherErrorCode =
  | 'BATCHER_CLOSED'
  | 'BATCHER_QUEUE_FULL'
  | 'BATCHER_RESULT_LENGTH'
  | 'BATCHER_RESULT_TYPE'
  | 'BATCHER_INVALID_OPTION';

/** Base class of every error the batcher creates; `code` says which rule was broken. */
export class BatcherError extends Error {
  /** Stable machine-readable reason, see {@link BatcherErrorCode}. */
  readonly code: BatcherErrorCode;

  /**
   * @param message what happened, with the numbers a caller needs
   * @param code the stable code
   */
  constructor(message: string, code: BatcherErrorCode) {
    super(message);
    this.name = 'BatcherError';
    this.code = code;
  }
}

/** `submit` was called after `close()`. Code `BATCHER_CLOSED`. */
export class BatcherClosedError extends BatcherError {
  constructor() {
    super('the batcher is closed and accepts no more records', 'BATCHER_CLOSED');
    this.name = 'BatcherClosedError';
  }
}

/**
 * The queue held `maxQueueSize` records and the caller chose `onFull: 'reject'`.
 * Code `BATCHER_QUEUE_FULL`.
 */
export class BatcherQueueFullError extends BatcherError {
  /** The limit that was reached. */
  readonly maxQueueSize: number;

  /** @param maxQueueSize the limit that was reached */
  constructor(maxQueueSize: number) {
    super(
      `the queue holds maxQueueSize (${maxQueueSize}) records; record rejected (onFull: 'reject')`,
      'BATCHER_QUEUE_FULL',
    );
    this.name = 'BatcherQueueFullError';
    this.maxQueueSize = maxQueueSize;
  }
}

/**
 * The process function returned an array whose length is not the number of records it was given.
 * Every record of that batch rejects with it. Code `BATCHER_RESULT_LENGTH`.
 */
export class BatcherResultLengthError extends BatcherError {
  /** Number of records in the batch, which is the number of results expected. */
  readonly expected: number;
  /** Number of results the function returned. */
  readonly received: number;

  /**
   * @param expected records in the batch
   * @param received results returned
   */
  constructor(expected: number, received: number) {
    super(
      `processFn returned ${received} results for a batch of ${expected} records ` +
        `(expected ${expected})`,
      'BATCHER_RESULT_LENGTH',
    );
    this.name = 'BatcherResultLengthError';
    this.expected = expected;
    this.received = received;
  }
}

/**
 * The process function returned (or resolved to) something that is not an array.
 * Every record of that batch rejects with it. Code `BATCHER_RESULT_TYPE`.
 */
export class BatcherResultTypeError extends BatcherError {
  /** Number of records in the batch. */
  readonly expected: number;

  /**
   * @param expected records in the batch
   * @param value what the function returned instead of an array
   */
  constructor(expected: number, value: unknown) {
    super(
      `processFn returned ${value === null ? 'null' : typeof value}, not an array of ` +
        `${expected} results`,
      'BATCHER_RESULT_TYPE',
    );
    this.name = 'BatcherResultTypeError';
    this.expected = expected;
  }
}

/**
 * An option (of the constructor or of `submit`) is missing, conflicting or out of range. The
 * message and `option` name the option. Code `BATCHER_INVALID_OPTION`.
 */
export class BatcherOptionError extends BatcherError {
  /** Name of the offending option, as spelled in the options object. */
  readonly option: string;

  /**
   * @param option the option's name
   * @param message what is wrong with it (the option's name is included)
   */
  constructor(option: string, message: string) {
    super(message, 'BATCHER_INVALID_OPTION');
    this.name = 'BatcherOptionError';
    this.option = option;
  }
}
