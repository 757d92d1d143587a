import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';
import { GgmlType } from '../ggml-type.js';
import { concat } from '../test-helpers.js';
import { readGgufIndex, readGgufTensor } from './reader.js';
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
