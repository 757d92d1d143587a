/** Stable codes of {@link CpuWasmError}. */
export type CpuWasmErrorCode =
  /** Weights, KV pool and activations do not fit in wasm32's 4 GiB; the message says what would. */
  | 'CPU_WASM_TOO_LARGE'
  /** The model has a weight type or shape the kernels do not handle. */
  | 'CPU_WASM_UNSUPPORTED'
  /** The worker threads could not start (no SharedArrayBuffer, a worker failed to load). */
  | 'CPU_WASM_THREADS'
  /** An option out of range. */
  | 'CPU_WASM_BAD_OPTION';

/** A CPU executor that cannot be made as asked, with a stable `code`. */
export class CpuWasmError extends Error {
  override readonly name = 'CpuWasmError';
  readonly code: CpuWasmErrorCode;

  constructor(message: string, code: CpuWasmErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
