/** Stable codes of {@link KvCacheError}. */
export type KvCacheErrorCode =
  | 'KV_INVALID_CONFIG'
  | 'KV_OUT_OF_BLOCKS'
  | 'KV_UNKNOWN_BLOCK'
  | 'KV_DOUBLE_FREE';

/** A misuse of the KV-cache bookkeeping. The operation that threw changed nothing. */
export class KvCacheError extends Error {
  override readonly name = 'KvCacheError';
  readonly code: KvCacheErrorCode;

  constructor(message: string, code: KvCacheErrorCode) {
    super(message);
    this.code = code;
  }
}
