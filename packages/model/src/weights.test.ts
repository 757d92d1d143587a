import { describe, expect, it } from 'vitest';
import type { ModelFileError } from './errors.js';
import { GgmlType } from './ggml-type.js';
import { ggufModel, hfModel, SMALL_LLAMA } from './test-helpers.js';
import { loadWeights, type StoredTensor } from './weights.js';

describe('loadWeights', () => {
  it('keeps matrices in their file type, so weights take about the file size', async () => {
    const { weights, bytes } = await ggufModel({
      ...SMALL_LLAMA,
      weightType: GgmlType.Q8_0,
      hiddenSize: 128,
    });
    expect(weights.layers[0]!.wq!.type).toBe(GgmlType.Q8_0);
    expect(weights.layers[0]!.wq!.rowBytes).toBe((128 / 32) * 34);
    expect(weights.byteLength / bytes.byteLength).toBeGreaterThan(0.9);
    expect(weights.byteLength / bytes.byteLength).toBeLessThanOrEqual(1);
  });

  it('names a missing tensor and a tensor of the wrong shape before reading any data', async () => {
    const { config } = await hfModel(SMALL_LLAMA);
    let reads = 0;
    const tensors = new Map<string, StoredTensor>();
    const add = (name: string, shape: number[]) =>
      tensors.set(name, {
        name,
        file: 'f.gguf',
        type: GgmlType.F32,
        shape,
        read: async () => {
          reads++;
          return new Uint8Array(shape.reduce((a, b) => a * b, 4));
        },
      });
    add('token_embd.weight', [64, 96]);
    add('output_norm.weight', [64]);
    add('output.weight', [64, 96]);
    await expect(loadWeights(config, tensors, 'f.gguf')).rejects.toMatchObject({
      code: 'MODEL_MISSING_TENSOR',
      tensor: 'blk.0.attn_norm.weight',
    });
    add('token_embd.weight', [64, 95]);
    const error = (await loadWeights(config, tensors, 'f.gguf').catch(
      (e: unknown) => e,
    )) as ModelFileError;
    expect(error).toMatchObject({
      code: 'MODEL_BAD_SHAPE',
      tensor: 'token_embd.weight',
      file: 'f.gguf',
    });
    expect(error.message).toBe(
      'f.gguf: tensor token_embd.weight has shape [64, 95], expected [64, 96]',
    );
    expect(reads).toBe(0);
  });
});
