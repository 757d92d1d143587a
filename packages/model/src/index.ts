export {
  GgmlType,
  type GgmlTypeName,
  type GgmlTypeTraits,
  ggmlTypeTraits,
  TensorShapeError,
  tensorByteSize,
  UnsupportedTensorTypeError,
} from './ggml-type.js';
