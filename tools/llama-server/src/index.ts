export { type BatchStats, fairShareStrategy } from './batching.js';
export { type ErrorStatus, HttpError, type OpenAiErrorBody } from './errors.js';
export {
  type FinishReason,
  type GenerationResult,
  generate,
  type SamplingParams,
} from './generation.js';
export {
  defaultThreads,
  type LlamaServer,
  type LlamaServerOptions,
  startLlamaServer,
} from './llama-server.js';
export {
  type ChatMessage,
  type ChatPrompter,
  chatPrompter,
  plainChatText,
  textPromptTokens,
} from './prompt.js';
export { SequencePool } from './sequence-pool.js';
