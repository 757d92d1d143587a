export { BlockPool } from './block-pool.js';
export { KvCacheError, type KvCacheErrorCode } from './errors.js';
