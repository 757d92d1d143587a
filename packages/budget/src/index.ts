export { type AttentionShape, type KvDtype, kvBytesPerToken } from './kv-bytes.js';
export {
  DEFAULT_BLOCK_SIZE,
  type KvGeometry,
  KvGeometryError,
  kvGeometry,
} from './kv-geometry.js';
export {
  type ForModelOptions,
  MemoryBudget,
  type MemoryBudgetOptions,
  type ModelConfig,
  ModelMemoryBudget,
} from './memory-budget.js';
export { TokenBudget } from './token-budget.js';
