import { ModelArgumentError } from '../errors.js';
import { ggmlTypeTraits, tensorByteSize } from '../ggml-type.js';
import { type GgufValue, GgufValueType } from './types.js';

/** A metadata value with the GGUF type to write it as. */
export interface GgufTypedValue {
  type: GgufValueType;
  value: GgufValue;
  /** Element type, for `ARRAY`. */
  arrayType?: GgufValueType;
}

/**
 * A metadata value to write. Strings, booleans and string arrays carry their type; a bare number
 * is written as UINT32 when it is a non-negative integer below 2³², INT32 when a negative one,
 * FLOAT32 otherwise, and a number array as INT32 when all are integers, FLOAT32 otherwise. Use
 * {@link gguf} for anything else (a FLOAT32 that happens to be whole, a UINT64).
 */
export type GgufMetadataInput = GgufTypedValue | string | boolean | number | string[] | number[];

/** Typed metadata values for {@link encodeGguf}. */
export const gguf = {
  u32: (value: number): GgufTypedValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufTypedValue => ({ type: GgufValueType.INT32, value }),
  u64: (value: bigint): GgufTypedValue => ({ type: GgufValueType.UINT64, value }),
  f32: (value: number): GgufTypedValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufTypedValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufTypedValue => ({ type: GgufValueType.STRING, value }),
  array: (arrayType: GgufValueType, value: GgufValue[]): GgufTypedValue => ({
    type: GgufValueType.ARRAY,
    arrayType,
    value,
  }),
};

/** One tensor to write: its bytes already in `type` (see `quantize`). */
export interface GgufTensorInput {
  name: string;
  /** GGML type id. */
  type: number;
  /** Dimensions, innermost first, as GGUF stores them. */
  shape: readonly number[];
  data: Uint8Array;
}

/** What {@link encodeGguf} writes. */
export interface GgufModelInput {
  metadata: Record<string, GgufMetadataInput>;
  tensors: readonly GgufTensorInput[];
  /** Alignment of tensor data; written as `general.alignment` when not 32. Default 32. */
  alignment?: number;
}

/**
 * Encodes a GGUF v3 file (little-endian) as a list of byte chunks: the header with metadata and
 * tensor index, then each tensor's data, padded to the alignment. Concatenated, or written in
 * order, they are the file.
 * @throws RangeError when a tensor's data length does not match its type and shape
 */
export function encodeGguf(model: GgufModelInput): Uint8Array[] {
  const alignment = model.alignment ?? 32;
  const metadata = { ...model.metadata };
  if (alignment !== 32) metadata['general.alignment'] = gguf.u32(alignment);
  const header = new ByteWriter();
  header.u32(0x46554747);
  header.u32(3);
  header.u64(BigInt(model.tensors.length));
  header.u64(BigInt(Object.keys(metadata).length));
  for (const [key, input] of Object.entries(metadata)) {
    const typed = typedValue(key, input);
    header.string(key);
    header.u32(typed.type);
    header.value(typed.type, typed.value, typed.arrayType, key);
  }
  let offset = 0;
  const padded = (n: number) => Math.ceil(n / alignment) * alignment;
  for (const tensor of model.tensors) {
    const expected = tensorByteSize(tensor.type, tensor.shape);
    if (tensor.data.byteLength !== expected) {
      const { name } = ggmlTypeTraits(tensor.type);
      throw new ModelArgumentError(
        `tensor ${tensor.name}: a ${name} tensor of shape [${tensor.shape.join(', ')}] holds ` +
          `${expected} bytes, got ${tensor.data.byteLength}`,
        'MODEL_BAD_WRITE',
      );
    }
    header.string(tensor.name);
    header.u32(tensor.shape.length);
    for (const dim of tensor.shape) header.u64(BigInt(dim));
    header.u32(tensor.type);
    header.u64(BigInt(offset));
    offset += padded(tensor.data.byteLength);
  }
  const chunks = [header.finish(alignment)];
  for (const tensor of model.tensors) {
    chunks.push(tensor.data);
    const pad = padded(tensor.data.byteLength) - tensor.data.byteLength;
    if (pad > 0) chunks.push(new Uint8Array(pad));
  }
  return chunks;
}

function typedValue(key: string, input: GgufMetadataInput): GgufTypedValue {
  if (typeof input === 'string') return gguf.str(input);
  if (typeof input === 'boolean') return gguf.bool(input);
  if (typeof input === 'number') return gguf[numberType(input)](input);
  if (Array.isArray(input)) {
    if (input.every((v) => typeof v === 'string')) return gguf.array(GgufValueType.STRING, input);
    if (input.every((v) => typeof v === 'number')) {
      const integers = input.every((v) => Number.isInteger(v));
      return gguf.array(integers ? GgufValueType.INT32 : GgufValueType.FLOAT32, input);
    }
    throw new ModelArgumentError(
      `metadata ${key}: an array must hold only strings or only numbers`,
      'MODEL_BAD_WRITE',
    );
  }
  return input;
}

function numberType(value: number): 'u32' | 'i32' | 'f32' {
  if (!Number.isInteger(value)) return 'f32';
  if (value >= 0 && value < 2 ** 32) return 'u32';
  return value >= -(2 ** 31) ? 'i32' : 'f32';
}

/** A growable little-endian byte buffer. */
class ByteWriter {
  private bytes = new Uint8Array(1024);
  private view = new DataView(this.bytes.buffer);
  private length = 0;
  private readonly encoder = new TextEncoder();

  private reserve(n: number): number {
    if (this.length + n > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(this.bytes.byteLength * 2, this.length + n));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  /** Offset of the bytes reserved by the last {@link put}. */
  last = 0;

  /** Reserves n bytes and returns the view to write them through (after any growth). */
  private put(n: number): DataView {
    this.last = this.reserve(n);
    return this.view;
  }

  u8(v: number): void {
    this.put(1).setUint8(this.last, v);
  }
  u32(v: number): void {
    this.put(4).setUint32(this.last, v, true);
  }
  u64(v: bigint): void {
    this.put(8).setBigUint64(this.last, v, true);
  }
  string(s: string): void {
    const encoded = this.encoder.encode(s);
    this.u64(BigInt(encoded.byteLength));
    const at = this.reserve(encoded.byteLength);
    this.bytes.set(encoded, at);
  }

  value(type: GgufValueType, value: GgufValue, arrayType: GgufValueType | undefined, key: string) {
    const T = GgufValueType;
    const num = () => {
      if (typeof value !== 'number')
        throw new ModelArgumentError(`metadata ${key}: expected a number`, 'MODEL_BAD_WRITE');
      return value;
    };
    switch (type) {
      case T.UINT8:
        return this.put(1).setUint8(this.last, num());
      case T.INT8:
        return this.put(1).setInt8(this.last, num());
      case T.UINT16:
        return this.put(2).setUint16(this.last, num(), true);
      case T.INT16:
        return this.put(2).setInt16(this.last, num(), true);
      case T.UINT32:
        return this.put(4).setUint32(this.last, num(), true);
      case T.INT32:
        return this.put(4).setInt32(this.last, num(), true);
      case T.FLOAT32:
        return this.put(4).setFloat32(this.last, num(), true);
      case T.FLOAT64:
        return this.put(8).setFloat64(this.last, num(), true);
      case T.UINT64:
        return this.put(8).setBigUint64(this.last, BigInt(value as bigint | number), true);
      case T.INT64:
        return this.put(8).setBigInt64(this.last, BigInt(value as bigint | number), true);
      case T.BOOL:
        return this.u8(value ? 1 : 0);
      case T.STRING:
        if (typeof value !== 'string')
          throw new ModelArgumentError(`metadata ${key}: expected a string`, 'MODEL_BAD_WRITE');
        return this.string(value);
      case T.ARRAY: {
        if (!Array.isArray(value) || arrayType === undefined) {
          throw new ModelArgumentError(
            `metadata ${key}: an ARRAY needs an array value and an element type`,
            'MODEL_BAD_WRITE',
          );
        }
        this.u32(arrayType);
        this.u64(BigInt(value.length));
        for (const element of value) this.value(arrayType, element, undefined, key);
        return;
      }
      default:
        throw new ModelArgumentError(
          `metadata ${key}: unknown GGUF value type ${String(type)}`,
          'MODEL_BAD_WRITE',
        );
    }
  }

  /** The bytes written, zero-padded to a multiple of `alignment`. */
  finish(alignment: number): Uint8Array {
    this.reserve((alignment - (this.length % alignment)) % alignment);
    return this.bytes.slice(0, this.length);
  }
}
