import { describe, expect, it } from 'vitest';
import {
  GgmlType,
  ggmlTypeTraits,
  TensorShapeError,
  tensorByteSize,
  UnsupportedTensorTypeError,
} from './ggml-type.js';

describe('GGML type layouts', () => {
  it('matches llama.cpp block sizes: Q8_0 34 B/32, Q4_0 18 B/32, Q2_K 84 B/256, Q3_K 110 B/256, Q4_K 144 B/256, Q5_K 176 B/256, Q6_K 210 B/256, IQ4_NL 18 B/32, IQ4_XS 136 B/256', () => {
    expect(ggmlTypeTraits(GgmlType.Q8_0)).toEqual({ name: 'Q8_0', blockSize: 32, typeSize: 34 });
    expect(ggmlTypeTraits(GgmlType.Q4_0)).toEqual({ name: 'Q4_0', blockSize: 32, typeSize: 18 });
    expect(ggmlTypeTraits(GgmlType.Q4_1)).toEqual({ name: 'Q4_1', blockSize: 32, typeSize: 20 });
    expect(ggmlTypeTraits(GgmlType.Q5_0)).toEqual({ name: 'Q5_0', blockSize: 32, typeSize: 22 });
    expect(ggmlTypeTraits(GgmlType.Q5_1)).toEqual({ name: 'Q5_1', blockSize: 32, typeSize: 24 });
    expect(ggmlTypeTraits(GgmlType.Q2_K)).toEqual({ name: 'Q2_K', blockSize: 256, typeSize: 84 });
    expect(ggmlTypeTraits(GgmlType.Q3_K)).toEqual({ name: 'Q3_K', blockSize: 256, typeSize: 110 });
    expect(ggmlTypeTraits(GgmlType.Q4_K)).toEqual({ name: 'Q4_K', blockSize: 256, typeSize: 144 });
    expect(ggmlTypeTraits(GgmlType.Q5_K)).toEqual({ name: 'Q5_K', blockSize: 256, typeSize: 176 });
    expect(ggmlTypeTraits(GgmlType.Q6_K)).toEqual({ name: 'Q6_K', blockSize: 256, typeSize: 210 });
    expect(ggmlTypeTraits(GgmlType.IQ4_NL)).toEqual({
      name: 'IQ4_NL',
      blockSize: 32,
      typeSize: 18,
    });
    expect(ggmlTypeTraits(GgmlType.IQ4_XS)).toEqual({
      name: 'IQ4_XS',
      blockSize: 256,
      typeSize: 136,
    });
  });

  it('sizes a tensor from its shape, row dimension first', () => {
    expect(tensorByteSize(GgmlType.F32, [4, 3])).toBe(48);
    expect(tensorByteSize(GgmlType.BF16, [8])).toBe(16);
    expect(tensorByteSize(GgmlType.Q8_0, [64, 2])).toBe(4 * 34);
    expect(tensorByteSize(GgmlType.Q6_K, [512, 10])).toBe(20 * 210);
  });

  it('rejects a row that is not a whole number of blocks, naming the type and length', () => {
    expect(() => tensorByteSize(GgmlType.Q4_K, [100, 2])).toThrow(TensorShapeError);
    expect(() => tensorByteSize(GgmlType.Q4_K, [100, 2])).toThrow('row length is 100');
  });

  it('rejects a type it does not read, listing the ones it does', () => {
    expect(() => ggmlTypeTraits(4)).toThrow(UnsupportedTensorTypeError);
    expect(() => ggmlTypeTraits(4)).toThrow('GGML type 4 is not supported; supported types: F32');
  });
});
