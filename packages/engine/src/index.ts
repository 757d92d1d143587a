export {
  DEFAULT_GENERATION_PARAMS,
  type GenerationParams,
  GenerationParamsError,
  resolveGenerationParams,
} from './generation-params.js';
