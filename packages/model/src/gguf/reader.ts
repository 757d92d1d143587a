import type { ByteSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';
import { tensorByteSize } from '../ggml-type.js';
import { Cursor } from './cursor.js';
import { type GgufIndex, type GgufTensorInfo, type GgufValue, GgufValueType } from './types.js';

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
 * Every count and length is checked against what is left of the file before anything is
 * allocated, so a truncated or corrupt file fails at once with a {@link ModelFileError} naming the
 * key or tensor, and never reads past its end. Strings are kept exactly as written (a leading
 * U+FEFF, which is a real SentencePiece token, is not dropped as a byte-order mark).
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

  const cursor = new Cursor(source);
  cursor.offset = headerBytes;
  const metadata: Record<string, GgufValue> = {};
  const metadataTypes: Record<string, GgufValueType> = {};
  for (let i = 0; i < kvCount; i++) {
    cursor.context = `metadata key #${i}`;
    const key = await cursor.string(version);
    cursor.context = `metadata ${key}`;
    const type = await cursor.u32();
    if (!isValueType(type))
      throw corrupt(`metadata ${key} has unknown value type ${type}`, { key });
    if (key in metadata) throw corrupt(`metadata ${key} appears twice`, { key });
    metadata[key] = await readValue(cursor, type, version, key, 0);
    metadataTypes[key] = type;
  }
  const alignment = metadata['general.alignment'] ?? 32;
  if (
    typeof alignment !== 'number' ||
    !Number.isInteger(alignment) ||
    alignment <= 0 ||
    alignment % 8 !== 0
  ) {
    throw corrupt(`general.alignment must be a positive multiple of 8, got ${String(alignment)}`, {
      key: 'general.alignment',
    });
  }
  const infos: Array<{ name: string; shape: number[]; type: number; relative: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    cursor.context = `tensor info #${i}`;
    const name = await cursor.string(version);
    cursor.context = `tensor info ${name}`;
    const dims = await cursor.u32();
    if (dims > 4)
      throw corrupt(`tensor ${name} has ${dims} dimensions (at most 4)`, { tensor: name });
    const shape: number[] = [];
    for (let d = 0; d < dims; d++) {
      const n = version === 1 ? BigInt(await cursor.u32()) : await cursor.u64();
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw corrupt(`tensor ${name} dimension ${d} is ${n}`, { tensor: name });
      }
      shape.push(Number(n));
    }
    const type = await cursor.u32();
    const relative = await cursor.u64();
    if (relative > BigInt(source.size)) {
      throw new ModelFileError(
        `tensor ${name}: data offset ${relative} is past the end of the file`,
        'MODEL_TRUNCATED',
        {
          file,
          tensor: name,
        },
      );
    }
    infos.push({ name, shape, type, relative: Number(relative) });
  }
  const dataOffset = Math.ceil(cursor.offset / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const { name, shape, type, relative } of infos) {
    if (tensors.has(name)) throw corrupt(`tensor ${name} appears twice`, { tensor: name });
    let byteLength: number;
    try {
      byteLength = tensorByteSize(type, shape);
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      throw new ModelFileError(
        `tensor ${name} [${shape.join(', ')}]: ${(cause as Error).message}`,
        code === 'GGML_UNSUPPORTED_TYPE' ? 'MODEL_UNSUPPORTED_TYPE' : 'MODEL_BAD_SHAPE',
        { file, tensor: name, cause },
      );
    }
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
    tensors.set(name, { name, type, shape, offset, byteLength });
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

/**
 * Tensors are read in runs ("slabs") of consecutive tensors of at least this many bytes, each
 * tensor a view into its slab: a run this large is its own memory mapping in the C allocator
 * (glibc maps anything over 32 MiB), so once a model's weights are dropped (an executor copied
 * them into its own memory) the pages go back to the OS. Read a tensor at a time, the same bytes
 * land on the allocator's heap as many ~1 MiB blocks that it keeps after they are freed: the
 * whole file stayed resident a second time.
 */
export const GGUF_SLAB_BYTES = 64 * 1024 * 1024;

/**
 * A reader of `tensors` (from one index of `source`) that reads them in slabs of consecutive
 * tensors (see {@link GGUF_SLAB_BYTES}) and returns each as a view of its slab. Each slab is read
 * on the first request for one of its tensors and kept only until each of its tensors has been
 * asked for once; a tensor asked for again is read on its own, as {@link readGgufTensor} does.
 * @throws ModelFileError `MODEL_TRUNCATED` (from the returned function) when the source returns
 *   fewer bytes than the index says
 */
export function ggufSlabReader(
  source: ByteSource,
  tensors: Iterable<GgufTensorInfo>,
  slabBytes = GGUF_SLAB_BYTES,
): (info: GgufTensorInfo) => Promise<Uint8Array> {
  interface Slab {
    start: number;
    end: number;
    unread: number;
    bytes: Promise<Uint8Array> | undefined;
  }
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  const slabs: Slab[] = [];
  const slabOf = new Map<GgufTensorInfo, Slab>();
  let slab: Slab | undefined;
  for (const info of sorted) {
    if (!slab || slab.end - slab.start >= slabBytes) {
      slab = { start: info.offset, end: info.offset, unread: 0, bytes: undefined };
      slabs.push(slab);
    }
    slab.end = Math.max(slab.end, info.offset + info.byteLength);
    slab.unread++;
    slabOf.set(info, slab);
  }
  // A short last slab joins the one before, so no slab but a lone small one falls under the
  // allocator's mapping threshold.
  const last = slabs.at(-1);
  const before = slabs.at(-2);
  if (last && before && last.end - last.start < slabBytes / 2) {
    before.end = last.end;
    before.unread += last.unread;
    for (const [info, s] of slabOf) if (s === last) slabOf.set(info, before);
    slabs.pop();
  }
  const read = new Set<GgufTensorInfo>();
  return async (info) => {
    const s = slabOf.get(info);
    if (!s || read.has(info)) return readGgufTensor(source, info);
    read.add(info);
    s.bytes ??= source.read(s.start, s.end - s.start);
    const pending = s.bytes;
    if (--s.unread === 0) s.bytes = undefined;
    const bytes = await pending;
    const at = info.offset - s.start;
    if (bytes.byteLength < at + info.byteLength) {
      throw new ModelFileError(
        `tensor ${info.name}: read ${Math.max(0, bytes.byteLength - at)} of ${info.byteLength} bytes`,
        'MODEL_TRUNCATED',
        { file: source.name, tensor: info.name },
      );
    }
    return bytes.subarray(at, at + info.byteLength);
  };
}

function isValueType(type: number): type is GgufValueType {
  return Number.isInteger(type) && type >= 0 && type <= 12;
}

/** Smallest encoding of one value of each type, to bound array lengths by what is left of the file. */
function minValueBytes(type: GgufValueType, version: number): number {
  const size = version === 1 ? 4 : 8;
  switch (type) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.STRING:
      return size;
    case GgufValueType.ARRAY:
      return 4 + size;
    default:
      return 8;
  }
}

async function readValue(
  cursor: Cursor,
  type: GgufValueType,
  version: number,
  key: string,
  depth: number,
): Promise<GgufValue> {
  const T = GgufValueType;
  switch (type) {
    case T.UINT8:
      return cursor.u8();
    case T.INT8:
      return cursor.i8();
    case T.UINT16:
      return cursor.u16();
    case T.INT16:
      return cursor.i16();
    case T.UINT32:
      return cursor.u32();
    case T.INT32:
      return cursor.i32();
    case T.FLOAT32:
      return cursor.f32();
    case T.FLOAT64:
      return cursor.f64();
    case T.UINT64:
      return cursor.u64();
    case T.INT64:
      return cursor.i64();
    case T.BOOL:
      return (await cursor.u8()) !== 0;
    case T.STRING:
      return cursor.string(version);
    case T.ARRAY: {
      const corrupt = (message: string) =>
        new ModelFileError(`metadata ${key}: ${message}`, 'MODEL_CORRUPT', {
          file: cursor.source.name,
          key,
        });
      if (depth >= 4) throw corrupt('arrays nest deeper than 4');
      const elementType = await cursor.u32();
      if (!isValueType(elementType)) throw corrupt(`unknown array element type ${elementType}`);
      const length = version === 1 ? BigInt(await cursor.u32()) : await cursor.u64();
      if (length * BigInt(minValueBytes(elementType, version)) > BigInt(cursor.remaining)) {
        throw cursor.truncated();
      }
      const out: GgufValue[] = new Array(Number(length));
      for (let i = 0; i < out.length; i++)
        out[i] = await readValue(cursor, elementType, version, key, depth + 1);
      return out;
    }
  }
}
