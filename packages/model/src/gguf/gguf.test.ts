import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';
import { GgmlType } from '../ggml-type.js';
import { concat } from '../test-helpers.js';
import { ggufSlabReader, readGgufIndex, readGgufTensor } from './reader.js';
import { GgufValueType } from './types.js';
import { encodeGguf, gguf } from './writer.js';

function sampleFile(): Uint8Array {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Uint8Array(34 * 2).fill(7);
  return concat(
    encodeGguf({
      metadata: {
        'general.architecture': 'llama',
        'llama.block_count': 2,
        'llama.rope.freq_base': gguf.f32(10000),
        'llama.attention.layer_norm_rms_epsilon': 1e-5,
        'tokenizer.ggml.tokens': ['a', 'b', 'é'],
        'tokenizer.ggml.scores': [0.5, -1.25, 0],
        'tokenizer.ggml.token_type': gguf.array(GgufValueType.INT32, [1, 1, 1]),
        'general.size': gguf.u64(123n),
        flag: true,
      },
      tensors: [
        { name: 'a', type: GgmlType.F32, shape: [3, 2], data: new Uint8Array(a.buffer) },
        { name: 'b', type: GgmlType.Q8_0, shape: [64], data: b },
      ],
    }),
  );
}

describe('GGUF writer and reader', () => {
  it('round-trips metadata with its types, and tensor data at aligned offsets', async () => {
    const bytes = sampleFile();
    const index = await readGgufIndex(bytesSource(bytes, 'sample.gguf'));
    expect(index.version).toBe(3);
    expect(index.metadata['general.architecture']).toBe('llama');
    expect(index.metadata['llama.block_count']).toBe(2);
    expect(index.metadataTypes['llama.block_count']).toBe(GgufValueType.UINT32);
    expect(index.metadata['llama.rope.freq_base']).toBe(10000);
    expect(index.metadataTypes['llama.rope.freq_base']).toBe(GgufValueType.FLOAT32);
    expect(index.metadata['llama.attention.layer_norm_rms_epsilon']).toBeCloseTo(1e-5, 10);
    expect(index.metadata['tokenizer.ggml.tokens']).toEqual(['a', 'b', 'é']);
    expect(index.metadata['tokenizer.ggml.scores']).toEqual([0.5, -1.25, 0]);
    expect(index.metadata['general.size']).toBe(123n);
    expect(index.metadata.flag).toBe(true);
    const a = index.tensors.get('a');
    expect(a).toMatchObject({ type: GgmlType.F32, shape: [3, 2], byteLength: 24 });
    expect(a!.offset % 32).toBe(0);
    const data = await readGgufTensor(bytesSource(bytes), a!);
    expect([...new Float32Array(data.slice().buffer)]).toEqual([1, 2, 3, 4, 5, 6]);
    const b = index.tensors.get('b')!;
    expect(b.offset - index.dataOffset).toBe(32);
    expect((await readGgufTensor(bytesSource(bytes), b)).every((v) => v === 7)).toBe(true);
  });

  it('rejects data that does not match a tensor type and shape', () => {
    expect(() =>
      encodeGguf({
        metadata: {},
        tensors: [{ name: 'w', type: GgmlType.Q8_0, shape: [32, 2], data: new Uint8Array(34) }],
      }),
    ).toThrow('tensor w: a Q8_0 tensor of shape [32, 2] holds 68 bytes, got 34');
  });
});

async function readError(bytes: Uint8Array): Promise<ModelFileError> {
  try {
    await readGgufIndex(bytesSource(bytes, 'bad.gguf'));
  } catch (error) {
    if (error instanceof ModelFileError) return error;
    throw error;
  }
  throw new Error('expected a ModelFileError');
}

describe('GGUF reader on bad files', () => {
  it('names a file without the magic', async () => {
    const error = await readError(new TextEncoder().encode('GGML not a gguf file at all....'));
    expect(error.code).toBe('MODEL_CORRUPT');
    expect(error.message).toBe('bad.gguf: not a GGUF file (no "GGUF" magic)');
  });

  it('finds truncation anywhere: header, metadata, tensor index or tensor data', async () => {
    const bytes = sampleFile();
    const index = await readGgufIndex(bytesSource(bytes));
    const b = index.tensors.get('b')!;
    const dataEnd = b.offset + b.byteLength;
    const cuts = [4, 20, 100, index.dataOffset - 5, index.dataOffset + 10, dataEnd - 1];
    for (const cut of cuts) {
      const error = await readError(bytes.slice(0, cut));
      expect(error.code, `cut at ${cut}`).toBe('MODEL_TRUNCATED');
    }
    const last = await readError(bytes.slice(0, dataEnd - 1));
    expect(last.tensor).toBe('b');
    expect(last.message).toMatch(/tensor b: 68 bytes of data at offset \d+ run past the end/);
  });

  it('names an unsupported tensor type', async () => {
    const bytes = sampleFile();
    const index = await readGgufIndex(bytesSource(bytes));
    // The type field of tensor "b" sits 12 bytes before the end of the tensor index.
    const infoEnd = index.dataOffset - (index.dataOffset % 32 || 0);
    const view = new DataView(bytes.buffer);
    let typeAt = -1;
    for (let at = 0; at < infoEnd; at++) {
      if (view.getUint32(at, true) === GgmlType.Q8_0 && view.getBigUint64(at + 4, true) === 32n) {
        typeAt = at;
      }
    }
    view.setUint32(typeAt, 16, true); // IQ2_XXS
    const error = await readError(bytes);
    expect(error.code).toBe('MODEL_UNSUPPORTED_TYPE');
    expect(error.tensor).toBe('b');
    expect(error.message).toContain('GGML type 16 is not supported');
  });

  it('only ever throws ModelFileError on random or mutated bytes', async () => {
    const valid = sampleFile();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc
            .array(fc.tuple(fc.nat(valid.byteLength - 1), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 8,
            })
            .map((edits) => {
              const copy = valid.slice();
              for (const [at, value] of edits) copy[at] = value;
              return copy;
            }),
          fc.nat(valid.byteLength).map((cut) => valid.slice(0, cut)),
        ),
        async (bytes) => {
          try {
            await readGgufIndex(bytesSource(bytes, 'fuzz.gguf'));
          } catch (error) {
            expect(error).toBeInstanceOf(ModelFileError);
          }
        },
      ),
      { numRuns: 400 },
    );
  }, 60_000);
});

describe('ggufSlabReader', () => {
  const fiveTensors = () =>
    concat(
      encodeGguf({
        metadata: { 'general.architecture': 'llama' },
        tensors: Array.from({ length: 5 }, (_, i) => ({
          name: `t${i}`,
          type: GgmlType.F32,
          shape: [i === 4 ? 8 : 16],
          data: new Uint8Array(new Float32Array(i === 4 ? 8 : 16).fill(i + 0.5).buffer),
        })),
      }),
    );
  /** A source over `bytes` that logs each read, and returns `short` bytes fewer past `cut`. */
  const counted = (bytes: Uint8Array, cut = Infinity, short = 0) => {
    const reads: Array<[number, number]> = [];
    const inner = bytesSource(bytes, 'five.gguf');
    return {
      reads,
      source: {
        ...inner,
        async read(offset: number, length: number) {
          reads.push([offset, length]);
          const got = await inner.read(offset, length);
          return offset + length > cut ? got.subarray(0, got.byteLength - short) : got;
        },
      },
    };
  };

  it('reads runs of consecutive tensors once, each tensor a view of its run', async () => {
    const bytes = fiveTensors();
    const index = await readGgufIndex(bytesSource(bytes));
    const { reads, source } = counted(bytes);
    // Runs of at least 100 bytes: t0–t1, t2–t3, and t4 (32 bytes: short) joins the run before it.
    const read = ggufSlabReader(source, index.tensors.values(), 100);
    const got = new Map<string, Uint8Array>();
    for (const name of ['t3', 't0', 't4', 't1', 't2']) {
      got.set(name, await read(index.tensors.get(name)!));
    }
    expect(reads).toHaveLength(2);
    for (const [name, data] of got) {
      const own = await readGgufTensor(bytesSource(bytes), index.tensors.get(name)!);
      expect(data, name).toEqual(own);
    }
    expect(got.get('t0')!.buffer).toBe(got.get('t1')!.buffer);
    expect(got.get('t2')!.buffer).toBe(got.get('t4')!.buffer);
    // t3 was asked for first: its run, then t0's.
    expect(reads).toEqual([
      [
        index.tensors.get('t2')!.offset,
        index.tensors.get('t4')!.offset - index.tensors.get('t2')!.offset + 32,
      ],
      [
        index.tensors.get('t0')!.offset,
        index.tensors.get('t1')!.offset - index.tensors.get('t0')!.offset + 64,
      ],
    ]);
    // A tensor asked for again is read on its own (its run was let go).
    const again = await read(index.tensors.get('t1')!);
    expect(reads).toHaveLength(3);
    expect(again).toEqual(got.get('t1'));
  });

  it('names the tensor a short read leaves without its bytes', async () => {
    const bytes = fiveTensors();
    const index = await readGgufIndex(bytesSource(bytes));
    const t4 = index.tensors.get('t4')!;
    const { source } = counted(bytes, t4.offset, 8);
    // t4 (32 bytes) is in t2's run; the run comes back 8 bytes short.
    const read = ggufSlabReader(source, index.tensors.values(), 100);
    expect(await read(index.tensors.get('t2')!)).toHaveLength(64);
    const error = await read(t4).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error).toMatchObject({ code: 'MODEL_TRUNCATED', tensor: 't4' });
    expect((error as Error).message).toMatch(/tensor t4: read 24 of 32 bytes/);
  });
});
