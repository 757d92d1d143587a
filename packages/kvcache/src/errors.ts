/** Stable codes of {@link KvCacheError}. */
export type KvCacheErrorCode =
  | 'KV_INVALID_CONFIG'
  | 'KV_INVALID_ARGUMENT'
  | 'KV_OUT_OF_BLOCKS'
  | 'KV_UNKNOWN_BLOCK'
  | 'KV_DOUBLE_FREE'
  | 'KV_UNKNOWN_SEQUENCE'
  | 'KV_DUPLICATE_SEQUENCE'
  | 'KV_WRONG_LOCATION';

/** A misuse of the KV-cache bookkeeping. The operation that threw changed nothing. */
export class KvCacheError extends Error {
  override readonly name = 'KvCacheError';
  readonly code: KvCacheErrorCode;

  constructor(message: string, code: KvCacheErrorCode) {
    super(message);
    this.code = code;
  }
}
