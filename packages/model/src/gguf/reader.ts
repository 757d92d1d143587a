import { type GGUFParseOutput, type GGUFTypedMetadata, gguf } from '@huggingface/gguf';
import type { ByteSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';
import { tensorByteSize } from '../ggml-type.js';
import type { GgufIndex, GgufTensorInfo, GgufValue, GgufValueType } from './types.js';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** Smallest encodings of a metadata record and a tensor info, to bound declared counts by size. */
function minRecordBytes(version: number): { kv: number; tensor: number } {
  const size = version === 1 ? 4 : 8;
  return { kv: size + 4 + 1, tensor: size + 4 + 4 + 8 };
}

/**
 * Reads the header, metadata and tensor index of a GGUF file, checking that everything it declares
 * lies inside the file. Tensor data is not read; see {@link readGgufTensor}.
 *
 * Parsing is delegated to `@huggingface/gguf`; xinfer adds bounds checks so that a truncated or
 * corrupt file fails fast with a {@link ModelFileError} instead of reading past its end.
 * @throws ModelFileError `MODEL_CORRUPT`, `MODEL_TRUNCATED`, `MODEL_UNSUPPORTED_TYPE` or
 *   `MODEL_BAD_SHAPE`, naming the file and the tensor or key
 */
export async function readGgufIndex(source: ByteSource): Promise<GgufIndex> {
  const file = source.name;
  const corrupt = (message: string, extra: { key?: string; tensor?: string } = {}) =>
    new ModelFileError(message, 'MODEL_CORRUPT', { file, ...extra });
  const head = await source.read(0, 24);
  if (head.byteLength < 8) {
    throw new ModelFileError(
      `${source.size} bytes is too short for a GGUF header`,
      'MODEL_TRUNCATED',
      {
        file,
      },
    );
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw corrupt('not a GGUF file (no "GGUF" magic)');
  const version = view.getUint32(4, true);
  if (version === 0 || version > 3) {
    const bigEndian = (version & 0xffff) === 0 && view.getUint32(4, false) <= 3;
    throw corrupt(
      bigEndian ? 'big-endian GGUF is not supported' : `unsupported GGUF version ${version}`,
    );
  }
  const headerBytes = version === 1 ? 16 : 24;
  if (head.byteLength < headerBytes) {
    throw new ModelFileError('the file ends inside the GGUF header', 'MODEL_TRUNCATED', { file });
  }
  const count = (at: number) =>
    version === 1 ? view.getUint32(at, true) : Number(view.getBigUint64(at, true));
  const tensorCount = count(8);
  const kvCount = count(version === 1 ? 12 : 16);
  const min = minRecordBytes(version);
  if (headerBytes + tensorCount * min.tensor + kvCount * min.kv > source.size) {
    throw new ModelFileError(
      `the header declares ${tensorCount} tensors and ${kvCount} metadata keys, ` +
        `which cannot fit in ${source.size} bytes`,
      'MODEL_TRUNCATED',
      { file },
    );
  }

  let parsed: GGUFParseOutput & { typedMetadata: GGUFTypedMetadata };
  try {
    parsed = await gguf(`https://gguf.invalid/${encodeURIComponent(file)}`, {
      fetch: rangeFetch(source),
      typedMetadata: true,
    });
  } catch (cause) {
    throw new ModelFileError(
      `cannot parse GGUF header: ${(cause as Error).message}`,
      'MODEL_CORRUPT',
      {
        file,
        cause,
      },
    );
  }
  const [, headerEnd] = parsed.tensorInfoByteRange;
  if (headerEnd > source.size) {
    throw new ModelFileError(
      `the metadata and tensor index run to byte ${headerEnd}, past the end of the file ` +
        `(${source.size} bytes)`,
      'MODEL_TRUNCATED',
      { file },
    );
  }

  const metadata: Record<string, GgufValue> = {};
  const metadataTypes: Record<string, GgufValueType> = {};
  for (const [key, entry] of Object.entries(parsed.typedMetadata) as Array<
    [string, { value: unknown; type: number }]
  >) {
    if (key === 'version' || key === 'tensor_count' || key === 'kv_count') continue;
    metadata[key] = entry.value as GgufValue;
    metadataTypes[key] = entry.type as GgufValueType;
  }
  const alignment = Number(metadata['general.alignment'] ?? 32);
  const dataOffset = Number(parsed.tensorDataOffset);
  const tensors = new Map<string, GgufTensorInfo>();
  for (const info of parsed.tensorInfos) {
    const name = info.name;
    if (tensors.has(name)) throw corrupt(`tensor ${name} appears twice`, { tensor: name });
    const shape = info.shape.map(Number);
    let byteLength: number;
    try {
      byteLength = tensorByteSize(info.dtype, shape);
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      throw new ModelFileError(
        `tensor ${name} [${shape.join(', ')}]: ${(cause as Error).message}`,
        code === 'GGML_UNSUPPORTED_TYPE' ? 'MODEL_UNSUPPORTED_TYPE' : 'MODEL_BAD_SHAPE',
        { file, tensor: name, cause },
      );
    }
    const relative = Number(info.offset);
    if (relative % alignment !== 0) {
      throw corrupt(`tensor ${name}: data offset ${relative} is not a multiple of ${alignment}`, {
        tensor: name,
      });
    }
    const offset = dataOffset + relative;
    if (offset + byteLength > source.size) {
      throw new ModelFileError(
        `tensor ${name}: ${byteLength} bytes of data at offset ${offset} run past the end of the ` +
          `file (${source.size} bytes)`,
        'MODEL_TRUNCATED',
        { file, tensor: name },
      );
    }
    tensors.set(name, { name, type: info.dtype, shape, offset, byteLength });
  }
  return {
    file,
    version,
    metadata,
    metadataTypes,
    tensors,
    alignment,
    dataOffset,
    fileSize: source.size,
  };
}

/**
 * The bytes of one tensor, in its stored type, in a buffer of their own.
 * @throws ModelFileError `MODEL_TRUNCATED` when the source returns fewer bytes than the index says
 */
export async function readGgufTensor(
  source: ByteSource,
  info: GgufTensorInfo,
): Promise<Uint8Array> {
  const bytes = await source.read(info.offset, info.byteLength);
  if (bytes.byteLength !== info.byteLength) {
    throw new ModelFileError(
      `tensor ${info.name}: read ${bytes.byteLength} of ${info.byteLength} bytes`,
      'MODEL_TRUNCATED',
      { file: source.name, tensor: info.name },
    );
  }
  return bytes;
}

/** A `fetch` that answers `@huggingface/gguf`'s range requests from a {@link ByteSource}. */
function rangeFetch(source: ByteSource): typeof fetch {
  return (async (_input: unknown, init?: RequestInit) => {
    const range = new Headers(init?.headers).get('range') ?? '';
    const match = /bytes=(\d+)-(\d+)/.exec(range);
    const start = match ? Number(match[1]) : 0;
    const end = match ? Number(match[2]) + 1 : source.size;
    const from = Math.min(start, source.size);
    const bytes = await source.read(from, Math.max(0, Math.min(end, source.size) - from));
    return new Response(bytes, {
      status: 206,
      headers: { 'content-range': `bytes ${from}-${from + bytes.byteLength - 1}/${source.size}` },
    });
  }) as typeof fetch;
}
