import { statSync } from 'node:fs';
import { fileSource, readGgufIndex } from '@x/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../test-helpers.js';
import { runXinfer } from '../testing.js';
import type { BudgetPlan } from './budget.js';

let model: string;
beforeAll(async () => {
  model = await writeTinyModel();
});

const MiB = 2 ** 20;

async function plan(args: string[]): Promise<BudgetPlan> {
  const run = await runXinfer(['budget', ...args, '--json']);
  expect(run.exitCode, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as BudgetPlan;
}

// Llama-3-8B at 4.5 bits in 24 GiB: the figures @x/budget's README gives.
const LLAMA3_8B = ['--params', '8030261248', '--bits', '4.5', '--layers', '32', '--heads', '32'];
const LLAMA3_KV = ['--kv-heads', '8', '--head-dim', '128', '--memory-mb', '24576'];

describe('xinfer budget', () => {
  it("plans a GGUF model from its header: weights are its tensors' bytes", async () => {
    const p = await plan(['--model', model, '--memory-mb', '1024']);
    // The tensors fill the data section, but for the padding between them.
    const source = await fileSource(model);
    const index = await readGgufIndex(source);
    await source.close?.();
    const dataBytes = statSync(model).size - index.dataOffset;
    expect(p.weight_bytes).toBeLessThanOrEqual(dataBytes);
    expect(p.weight_bytes).toBeGreaterThan(dataBytes - index.alignment * index.tensors.size);
    expect(p).toMatchObject({
      model,
      architecture: 'llama',
      num_layers: 2,
      num_heads: 4,
      num_kv_heads: 2,
      head_dim: 16,
      model_context_length: 512,
      memory_bytes: 1024 * MiB,
      overhead_bytes: 512 * MiB + Math.ceil(p.weight_bytes / 10),
      fits: true,
      // 2 (K and V) × 2 layers × 2 KV heads × 16 dims × 2 bytes
      kv_bytes_per_token: 256,
      kv_dtype: 'f16',
      block_size: 16,
      max_context_length: 512,
      context: 512,
    });
    expect(p.kv_budget_bytes).toBe(1024 * MiB - p.weight_bytes - p.overhead_bytes);
    expect(p.max_tokens).toBe(Math.floor(p.kv_budget_bytes / 256));
    expect(p.kv_blocks).toBe(Math.floor(p.kv_budget_bytes / (16 * 256)));
    expect(p.max_concurrent_sequences).toBe(Math.floor(p.kv_blocks / 32));
  });

  it('sizes the KV cache by --kv-dtype, --block-size and --context', async () => {
    const f32 = await plan(['-m', model, '--memory-mb', '600', '--kv-dtype', 'f32']);
    expect(f32.kv_bytes_per_token).toBe(512);
    // q8_0: each 32-element row is one 34-byte block.
    const q8 = await plan(['-m', model, '--memory-mb', '600', '--kv-dtype', 'q8_0']);
    expect(q8.kv_bytes_per_token).toBe(2 * 2 * 34);
    const p = await plan([
      '-m',
      model,
      '--memory-mb',
      '600',
      '--block-size',
      '32',
      '--context',
      '100',
    ]);
    expect(p.kv_blocks).toBe(Math.floor(p.kv_budget_bytes / (32 * 256)));
    expect(p.max_concurrent_sequences).toBe(Math.floor(p.kv_blocks / 4));
  });

  it('prints the plan as a table', async () => {
    const run = await runXinfer(['budget', '-m', model, '--memory-mb', '1024']);
    expect(run.exitCode).toBe(0);
    const p = await plan(['-m', model, '--memory-mb', '1024']);
    expect(run.stdout).toContain(
      `${model} (llama): 2 layers, 4 heads (2 KV) × 16 dims, context 512`,
    );
    expect(run.stdout).toContain('memory              1.00 GiB\n');
    expect(run.stdout).toContain('KV bytes per token  256 (f16)\n');
    expect(run.stdout).toContain(`KV blocks           ${p.kv_blocks} × 16 tokens\n`);
    expect(run.stdout).toContain("max context length  512 tokens (the model's)\n");
    expect(run.stdout).toContain(
      `max sequences       ${p.max_concurrent_sequences} at 512 tokens each\n`,
    );
  });

  it('plans from --params and the attention shape', async () => {
    expect(await plan([...LLAMA3_8B, ...LLAMA3_KV, '--context', '8192'])).toMatchObject({
      model: null,
      kv_bytes_per_token: 131072,
      max_tokens: 154603,
      kv_blocks: 9662,
      max_concurrent_sequences: 18,
      max_context_length: 9662 * 16,
      context: 8192,
    });
    const run = await runXinfer(
      'budget --params 7e9 --bits 4.5 --layers 32 --heads 32 --kv-heads 8 --head-dim 128 --memory-mb 16384'.split(
        ' ',
      ),
    );
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('weights             3.67 GiB (7.00B params at 4.50 bits)\n');
    expect(run.stdout).toContain('max sequences       ');
    expect(run.stdout).toContain(' at 2048 tokens each\n');
    const json = await plan(
      '--params 7e9 --bits 4.5 --layers 32 --heads 32 --kv-heads 8 --head-dim 128 --memory-mb 16384'.split(
        ' ',
      ),
    );
    expect(json).toMatchObject({
      weight_bytes: 3937500000,
      overhead_bytes: 930620912,
      kv_budget_bytes: 12311748272,
    });
  });

  it('says when the weights do not fit', async () => {
    const run = await runXinfer(
      'budget --params 70e9 --bits 4.5 --layers 80 --heads 64 --kv-heads 8 --head-dim 128 --memory-mb 16384'.split(
        ' ',
      ),
    );
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(
      'KV budget           none: weights and overhead need 24.84 GiB more\n',
    );
  });

  it.each([
    [['--params', '7e9'], 'xinfer: --params needs --bits, --layers, --heads, --head-dim too'],
    [
      [...LLAMA3_8B, '--kv-heads', '5', '--head-dim', '128'],
      'xinfer: numKvHeads must divide numHeads (32), got 5',
    ],
    [
      ['--model', 'm.gguf', '--params', '7e9'],
      "xinfer: option '-m, --model <path>' cannot be used with option '--params <n>'",
    ],
    [['--model', '/nowhere.gguf'], 'xinfer: /nowhere.gguf: cannot open'],
    [['--bits', 'many'], "xinfer: option '--bits <b>' argument 'many' is invalid"],
  ])('fails in one line on %j', async (args, message) => {
    const run = await runXinfer(['budget', ...args]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^xinfer: [^\n]*\n$/);
    expect(run.stderr).toContain(message);
  });
});
