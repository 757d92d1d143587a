import type { ByteSource } from './byte-source.js';
import type { Architecture } from './config.js';
import { ModelArgumentError, ModelFileError } from './errors.js';
import { GgmlType } from './ggml-type.js';

/** Safetensors dtypes xinfer reads, and the GGML type each becomes. */
export const SAFETENSORS_DTYPES = {
  F32: GgmlType.F32,
  F16: GgmlType.F16,
  BF16: GgmlType.BF16,
} as const;

/** A safetensors dtype xinfer reads. */
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Where one tensor's data lies in a safetensors file. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  /** Dimensions as safetensors stores them: outermost first (`[out, in]` for a matrix). */
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

/** The header of a safetensors file. */
export interface SafetensorsIndex {
  file: string;
  /** The `__metadata__` string map. */
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensorInfo>;
}

/** Largest header accepted, as the reference implementation (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Reads a safetensors header: a little-endian u64 header length N, N bytes of JSON mapping each
 * tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets from the end of the header),
 * then the data.
 * @throws ModelFileError `MODEL_TRUNCATED`, `MODEL_CORRUPT` or `MODEL_UNSUPPORTED_TYPE`, naming the
 *   file and tensor
 */
export async function readSafetensorsIndex(source: ByteSource): Promise<SafetensorsIndex> {
  const file = source.name;
  const corrupt = (message: string, tensor?: string) =>
    new ModelFileError(message, 'MODEL_CORRUPT', { file, ...(tensor ? { tensor } : {}) });
  const head = await source.read(0, 8);
  if (head.byteLength < 8) {
    throw new ModelFileError('too short for a safetensors header', 'MODEL_TRUNCATED', { file });
  }
  const headerBytes = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (headerBytes > MAX_HEADER_BYTES) throw corrupt(`header length ${headerBytes} is implausible`);
  if (8 + headerBytes > source.size) {
    throw new ModelFileError(
      `the ${headerBytes}-byte header runs past the end of the file (${source.size} bytes)`,
      'MODEL_TRUNCATED',
      { file },
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(await source.read(8, headerBytes)));
  } catch (cause) {
    throw new ModelFileError(
      `the header is not JSON: ${(cause as Error).message}`,
      'MODEL_CORRUPT',
      {
        file,
        cause,
      },
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw corrupt('the header is not a JSON object');
  }
  const dataStart = 8 + headerBytes;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        metadata[k] = String(v);
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const dtype = e?.dtype;
    if (typeof dtype !== 'string') throw corrupt(`tensor ${name} has no dtype`, name);
    if (!(dtype in DTYPE_BYTES)) {
      throw new ModelFileError(
        `tensor ${name} has dtype ${dtype}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`,
        'MODEL_UNSUPPORTED_TYPE',
        { file, tensor: name },
      );
    }
    const shape = e?.shape;
    const offsets = e?.data_offsets;
    if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw corrupt(`tensor ${name} has an invalid shape`, name);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((n) => Number.isSafeInteger(n) && n >= 0)
    ) {
      throw corrupt(`tensor ${name} has invalid data_offsets`, name);
    }
    const [begin, end] = offsets as [number, number];
    const expected =
      shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      throw corrupt(
        `tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but a ${dtype} ` +
          `tensor of shape [${shape.join(', ')}] needs ${expected}`,
        name,
      );
    }
    if (dataStart + end > source.size) {
      throw new ModelFileError(
        `tensor ${name}: data ends at byte ${dataStart + end}, past the end of the file (${source.size} bytes)`,
        'MODEL_TRUNCATED',
        { file, tensor: name },
      );
    }
    tensors.set(name, {
      name,
      dtype: dtype as SafetensorsDtype,
      shape: shape as number[],
      offset: dataStart + begin,
      byteLength: expected,
    });
  }
  return { file, metadata, tensors };
}

/** One tensor for {@link encodeSafetensors}. */
export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  /** Outermost first, as safetensors stores it. */
  shape: readonly number[];
  data: Uint8Array;
}

/**
 * Encodes a safetensors file as byte chunks (header, then each tensor's data in order). The header
 * is padded with spaces to a multiple of 8 bytes, as the reference implementation does.
 * @throws RangeError when a tensor's data length does not match its dtype and shape
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Record<string, string>,
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new ModelArgumentError(
        `tensor ${t.name}: a ${t.dtype} tensor of shape [${t.shape.join(', ')}] holds ${expected} bytes, got ${t.data.byteLength}`,
        'MODEL_BAD_WRITE',
      );
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  return [prefix, body, ...tensors.map((t) => t.data)];
}

/**
 * The GGUF-style name of a Hugging Face tensor name (`model.layers.3.self_attn.q_proj.weight`
 * → `blk.3.attn_q.weight`), or undefined for a tensor the model does not use (rotary caches).
 */
export function ggufNameOfHfTensor(name: string, architecture?: Architecture): string | undefined {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  // Gemma 3's multimodal checkpoints keep the language model under language_model.
  const plain = name.replace(/^(model\.)?language_model\.(model\.)?/, 'model.');
  if (plain in fixed) return fixed[plain];
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(plain);
  if (!m) return undefined;
  const gemma = architecture === 'gemma2' || architecture === 'gemma3';
  const parts: Record<string, string> = {
    input_layernorm: 'attn_norm',
    'self_attn.q_proj': 'attn_q',
    'self_attn.k_proj': 'attn_k',
    'self_attn.v_proj': 'attn_v',
    'self_attn.qkv_proj': 'attn_qkv',
    'self_attn.q_norm': 'attn_q_norm',
    'self_attn.k_norm': 'attn_k_norm',
    'self_attn.o_proj': 'attn_output',
    // Gemma 2/3 norm the attention output with post_attention_layernorm and the feed-forward
    // input with pre_feedforward_layernorm; the others use post_attention_layernorm for the latter.
    post_attention_layernorm: gemma ? 'post_attention_norm' : 'ffn_norm',
    pre_feedforward_layernorm: 'ffn_norm',
    post_feedforward_layernorm: 'post_ffw_norm',
    'mlp.gate_proj': 'ffn_gate',
    'mlp.up_proj': 'ffn_up',
    'mlp.gate_up_proj': 'ffn_up',
    'mlp.down_proj': 'ffn_down',
  };
  const part = parts[m[2] as string];
  return part === undefined ? undefined : `blk.${m[1]}.${part}.${m[3]}`;
}
