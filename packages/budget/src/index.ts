export { type AttentionShape, type KvDtype, kvBytesPerToken } from './kv-bytes.js';
export {
  type ForModelOptions,
  MemoryBudget,
  type MemoryBudgetOptions,
  type ModelConfig,
  ModelMemoryBudget,
} from './memory-budget.js';
export { TokenBudget } from './token-budget.js';
