export {
  type AllocStatus,
  type AppendResult,
  BlockManager,
  type BlockManagerConfig,
  type PromptAllocation,
} from './block-manager.js';
export { BlockPool } from './block-pool.js';
export { KvCacheError, type KvCacheErrorCode } from './errors.js';
