/** Stable codes of {@link GpuExecutorError}. */
export type GpuExecutorErrorCode =
  /** The model uses a weight type, shape or size the WebGPU kernels do not handle. */
  | 'GPU_UNSUPPORTED_MODEL'
  /** The device could not allocate what the executor asked for. */
  | 'GPU_OUT_OF_MEMORY'
  /** The device was lost (driver reset, `destroy()`, the GPU went away). */
  | 'GPU_DEVICE_LOST'
  /** A validation or internal error the device reported. */
  | 'GPU_DEVICE_ERROR'
  /** An option out of range (step budget, a device given and none to be had). */
  | 'GPU_BAD_OPTIONS';

/** A failure of the WebGPU executor, saying what it was doing when it happened. */
export class GpuExecutorError extends Error {
  override readonly name = 'GpuExecutorError';
  readonly code: GpuExecutorErrorCode;

  constructor(message: string, code: GpuExecutorErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Stable codes of {@link GpuSamplerError}. */
export type GpuSamplerErrorCode =
  /** Constructor options out of range (vocabulary size, rows). */
  | 'SAMPLER_BAD_OPTIONS'
  /** More rows than `maxRows` in one `prepare`. */
  | 'SAMPLER_TOO_MANY_ROWS'
  /** A row index that is not a non-negative integer, or lies past the logits buffer. */
  | 'SAMPLER_BAD_ROW'
  /**
   * Two entries sample the same logits row and one of them applies penalties or a token mask to
   * it in place.
   */
  | 'SAMPLER_ROW_CONFLICT'
  /** A token mask (`allowedTokens`) of the wrong type or length, or allowing no token. */
  | 'SAMPLER_BAD_MASK'
  /** The logits buffer or offset cannot be bound (usage, alignment). */
  | 'SAMPLER_BAD_LOGITS'
  /** `decode` was given fewer bytes than `resultBytes(rows.length)`. */
  | 'SAMPLER_SHORT_RESULT';

/** A request the device sampler (`GpuSampler`) cannot carry out, with a stable `code`. */
export class GpuSamplerError extends RangeError {
  override readonly name = 'GpuSamplerError';
  readonly code: GpuSamplerErrorCode;

  constructor(message: string, code: GpuSamplerErrorCode) {
    super(message);
    this.code = code;
  }
}
