import { describe, expect, it } from 'vitest';
import { bytesSource } from './byte-source.js';
import type { ModelFileError } from './errors.js';
import { encodeSafetensors, ggufNameOfHfTensor, readSafetensorsIndex } from './safetensors.js';
import { concat } from './test-helpers.js';

const tensor = (name: string, values: number[], shape: number[]) => ({
  name,
  dtype: 'F32' as const,
  shape,
  data: new Uint8Array(Float32Array.from(values).buffer),
});

describe('safetensors', () => {
  it('round-trips tensors and metadata with an 8-byte aligned header', async () => {
    const bytes = concat(
      encodeSafetensors([tensor('a', [1, 2, 3, 4, 5, 6], [2, 3]), tensor('b', [7], [1])], {
        format: 'pt',
      }),
    );
    const index = await readSafetensorsIndex(bytesSource(bytes, 'model.safetensors'));
    expect(index.metadata).toEqual({ format: 'pt' });
    const a = index.tensors.get('a')!;
    expect(a).toMatchObject({ dtype: 'F32', shape: [2, 3], byteLength: 24 });
    expect(a.offset % 8).toBe(0);
    expect([...new Float32Array(bytes.slice(a.offset, a.offset + 24).buffer)]).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
  });

  it('rejects truncated, corrupt and unsupported files with the file and tensor named', async () => {
    const bytes = concat(encodeSafetensors([tensor('a', [1, 2], [2])]));
    const read = async (b: Uint8Array) => {
      try {
        await readSafetensorsIndex(bytesSource(b, 'x.safetensors'));
      } catch (e) {
        return e as ModelFileError;
      }
      throw new Error('expected an error');
    };
    expect((await read(bytes.slice(0, bytes.byteLength - 1))).code).toBe('MODEL_TRUNCATED');
    expect((await read(bytes.slice(0, 20))).code).toBe('MODEL_TRUNCATED');
    const header = new TextEncoder().encode(
      '{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}',
    );
    const withI64 = concat([
      new Uint8Array(new BigUint64Array([BigInt(header.byteLength)]).buffer),
      header,
      new Uint8Array(8),
    ]);
    const unsupported = await read(withI64);
    expect(unsupported).toMatchObject({ code: 'MODEL_UNSUPPORTED_TYPE', tensor: 'a' });
    const notJson = concat([
      new Uint8Array(new BigUint64Array([4n]).buffer),
      new TextEncoder().encode('{{{{'),
    ]);
    expect((await read(notJson)).code).toBe('MODEL_CORRUPT');
  });

  it('maps Hugging Face names to GGUF names', () => {
    expect(ggufNameOfHfTensor('model.layers.12.self_attn.k_proj.bias')).toBe('blk.12.attn_k.bias');
    expect(ggufNameOfHfTensor('model.layers.0.mlp.down_proj.weight')).toBe('blk.0.ffn_down.weight');
    expect(ggufNameOfHfTensor('lm_head.weight')).toBe('output.weight');
    expect(ggufNameOfHfTensor('model.layers.0.self_attn.rotary_emb.inv_freq')).toBeUndefined();
  });
});
