// The platform-neutral surface of @x/model, shared by the Node and browser entries.
export {
  DEFAULT_BLOCK_SIZE,
  type KvGeometry,
  KvGeometryError,
  kvGeometry,
} from '@x/budget';
export { type ByteSource, blobSource, bytesSource } from './byte-source.js';
export {
  type ChatMessage,
  ChatTemplate,
  ChatTemplateError,
  type ChatTemplateOptions,
} from './chat-template.js';
export {
  type Architecture,
  type Llama3RopeScaling,
  llama3RopeFreqFactors,
  type ModelConfig,
  type RopeStyle,
  SUPPORTED_ARCHITECTURES,
  type YarnRopeScaling,
} from './config.js';
export { configFromGguf } from './config-gguf.js';
export { configFromHf } from './config-hf.js';
export {
  ModelArgumentError,
  type ModelArgumentErrorCode,
  ModelFileError,
  type ModelFileErrorCode,
  type ModelFileErrorDetails,
} from './errors.js';
export {
  ExecutorError,
  type ExecutorErrorCode,
  type ForwardBatch,
  type ForwardResult,
  type ForwardSequence,
  type KvCacheShape,
  MAX_LOGIT_BIAS,
  type ModelExecutor,
  type SamplingParams,
  type SequenceStep,
  sequenceBatch,
  type TokenLogprobs,
} from './executor.js';
export {
  GgmlType,
  type GgmlTypeName,
  type GgmlTypeTraits,
  ggmlTypeTraits,
  TensorShapeError,
  tensorByteSize,
  UnsupportedTensorTypeError,
} from './ggml-type.js';
export { readGgufIndex, readGgufTensor } from './gguf/reader.js';
export {
  type GgufIndex,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
} from './gguf/types.js';
export {
  encodeGguf,
  type GgufMetadataInput,
  type GgufModelInput,
  type GgufTensorInput,
  type GgufTypedValue,
  gguf,
} from './gguf/writer.js';
export { buildModelGraph, type GraphOptions, ropeSpec } from './graph/build.js';
export type {
  AddNode,
  AttnPagedNode,
  GetRowsNode,
  GluNode,
  GraphNode,
  GraphOp,
  GraphValue,
  KvStoreNode,
  ModelGraph,
  MulMatNode,
  MulMatOutput,
  OutputRowsNode,
  RmsNormNode,
  RopeNode,
  RopeSpec,
  SoftcapNode,
} from './graph/graph.js';
export { nodeReads, nodeWrites, readBeforeWritten } from './graph/graph.js';
export { type HfModelFiles, loadGgufModel, loadHfModel, type Model } from './load.js';
export {
  bf16ToF32,
  createPreparedActivations,
  dequantizeRow,
  dotPrepared,
  dotRow,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  type PreparedActivations,
  prepareActivations,
  quantize,
  quantizeRow,
  vecDotType,
} from './quant/index.js';
export { applyRope, glu, pagedAttention, rmsNorm, softcap } from './reference/ops.js';
export {
  ReferenceExecutor,
  type ReferenceExecutorOptions,
} from './reference/reference-executor.js';
export {
  encodeSafetensors,
  ggufNameOfHfTensor,
  readSafetensorsIndex,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type SafetensorsIndex,
  type SafetensorsTensorInfo,
  type SafetensorsTensorInput,
} from './safetensors.js';
export {
  applyTokenMask,
  argmax,
  type SampledToken,
  type SamplingContext,
  SamplingParamsError,
  sampleLogits,
  sampleSequences,
  seededUniform,
  tokenAllowed,
  validateSamplingParams,
} from './sampling.js';
export {
  byteLevelTokenizer,
  loadSyntheticModel,
  permuteForInterleavedRope,
  type SyntheticModelOptions,
  syntheticGguf,
  syntheticHfModel,
} from './synthetic.js';
export * from './tokenizer/index.js';
export * from './tool-calls/index.js';
export { validateBatch } from './validate-batch.js';
export type { LayerWeights, ModelWeights, StoredTensor, WeightMatrix } from './weights.js';
