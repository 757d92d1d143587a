export {
  createPreparedActivations,
  dotPrepared,
  GGML_TYPE_Q8_K,
  type PreparedActivations,
  prepareActivations,
  vecDotType,
} from './activations.js';
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';
export { dequantizeRow, dotRow, quantize, quantizeRow } from './kernels.js';
