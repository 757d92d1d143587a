/** Stable codes of {@link GpuExecutorError}. */
export type GpuExecutorErrorCode =
  /** The model uses a weight type, shape or size the WebGPU kernels do not handle. */
  | 'GPU_UNSUPPORTED_MODEL'
  /** The device could not allocate what the executor asked for. */
  | 'GPU_OUT_OF_MEMORY'
  /** The device was lost (driver reset, `destroy()`, the GPU went away). */
  | 'GPU_DEVICE_LOST'
  /** A validation or internal error the device reported. */
  | 'GPU_DEVICE_ERROR';

/** A failure of the WebGPU executor, saying what it was doing when it happened. */
export class GpuExecutorError extends Error {
  override readonly name = 'GpuExecutorError';
  readonly code: GpuExecutorErrorCode;

  constructor(message: string, code: GpuExecutorErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
