export {
  CONSTRAINT_TYPES,
  type Constraint,
  JSON_WHITESPACE,
  type JsonSchema,
  type JsonWhitespace,
  MAX_CONSTRAINT_LENGTH,
} from './constraint.js';
export {
  type ChatOptions,
  type ChatTool,
  type CompletedRequest,
  type EngineInfo,
  type EngineModel,
  type EngineOptions,
  type ExecutorFactory,
  type GenerateOptions,
  InferenceEngine,
  isSoftwareAdapter,
  PLAIN_CHAT_TEMPLATE,
  type RequestInfo,
  type RequestState,
  type StepBudget,
} from './engine.js';
export {
  type EngineConfig,
  EngineConfigError,
  type EngineConfigField,
  resolveEngineConfig,
} from './engine-config.js';
export { EngineError, type EngineErrorCode } from './errors.js';
export {
  DEFAULT_GENERATION_PARAMS,
  type GenerationParams,
  GenerationParamsError,
  resolveGenerationParams,
} from './generation-params.js';
export {
  type FinishReason,
  type GenerationDelta,
  type GenerationResult,
  GenerationStream,
  type GenerationTimings,
  type Usage,
} from './generation-stream.js';
export {
  ConstraintCompiler,
  type ConstraintMatcher,
  type ConstraintVocabulary,
} from './grammar/constraint-compiler.js';
export type { LoadedXGrammar } from './grammar/xgrammar.js';
export { xgrammarFromModule } from './grammar/xgrammar-module.js';
export { type KvCachePlan, planKvCache } from './kv-plan.js';
export { type EngineMetrics, LATENCY_WINDOW, type LatencyPercentiles } from './metrics.js';
export { type EnginePlatform, setEnginePlatform } from './platform.js';
export { StopStringFilter } from './stop-strings.js';
