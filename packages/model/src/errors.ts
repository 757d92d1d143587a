/** Stable codes of {@link ModelFileError}. */
export type ModelFileErrorCode =
  /** The file ends before a structure it declares. */
  | 'MODEL_TRUNCATED'
  /** Bytes that cannot be what the format says (bad magic, impossible counts, bad JSON). */
  | 'MODEL_CORRUPT'
  /** A tensor type xinfer does not read. */
  | 'MODEL_UNSUPPORTED_TYPE'
  /** An architecture xinfer does not run. */
  | 'MODEL_UNSUPPORTED_ARCH'
  /** A required metadata or config key is absent or has the wrong type. */
  | 'MODEL_BAD_KEY'
  /** A required tensor is absent. */
  | 'MODEL_MISSING_TENSOR'
  /** A tensor's shape is not what the config implies, or its rows are not whole blocks. */
  | 'MODEL_BAD_SHAPE'
  /** No tokenizer in the model file or directory, or one that cannot be built. */
  | 'MODEL_BAD_TOKENIZER'
  /** A file or directory that cannot be read. */
  | 'MODEL_IO';

/** Where in a model a problem is. */
export interface ModelFileErrorDetails {
  /** The file (path or name) that holds the problem. */
  file?: string;
  /** The metadata or config key. */
  key?: string;
  /** The tensor name. */
  tensor?: string;
  cause?: unknown;
}

/**
 * A model file that cannot be used: names the file, the key or tensor, and what was expected.
 * Loading throws it before any work is done with the model.
 */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  readonly code: ModelFileErrorCode;
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly tensor: string | undefined;

  constructor(message: string, code: ModelFileErrorCode, details: ModelFileErrorDetails = {}) {
    super(
      details.file === undefined ? message : `${details.file}: ${message}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.code = code;
    this.file = details.file;
    this.key = details.key;
    this.tensor = details.tensor;
  }
}

/** Stable codes of {@link ModelArgumentError}. */
export type ModelArgumentErrorCode =
  /** A token id outside the vocabulary. */
  | 'MODEL_TOKEN_OUT_OF_RANGE'
  /** A row, offset or length that does not fit the buffers or the type's blocks. */
  | 'MODEL_BAD_ROW'
  /** GGUF metadata or tensors to write that the format cannot hold. */
  | 'MODEL_BAD_WRITE'
  /** Options out of range. */
  | 'MODEL_BAD_OPTIONS';

/**
 * An argument a function of @x/model cannot take: what it was, and why. A `RangeError`, as such
 * mistakes are in the standard library.
 */
export class ModelArgumentError extends RangeError {
  override readonly name = 'ModelArgumentError';
  readonly code: ModelArgumentErrorCode;

  constructor(message: string, code: ModelArgumentErrorCode) {
    super(message);
    this.code = code;
  }
}
