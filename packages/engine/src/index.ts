export { type EngineConfig, EngineConfigError, resolveEngineConfig } from './engine-config.js';
export {
  DEFAULT_GENERATION_PARAMS,
  type GenerationParams,
  GenerationParamsError,
  resolveGenerationParams,
} from './generation-params.js';
