import { stat } from 'node:fs/promises';
import { freemem } from 'node:os';
import { type KvDtype, MemoryBudget, type ModelMemoryBudget } from '@x/budget';
import { configFromGguf, fileSource, readGgufIndex } from '@x/model';
import { Command, Option } from 'commander';
import { CliUsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { modelOption, resolveModelPath } from '../model-path.js';
import { number, positiveInteger, positiveNumber } from '../options.js';

interface BudgetOptions {
  model?: string;
  params?: number;
  bits?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  memoryMb?: number;
  kvDtype: KvDtype;
  blockSize: number;
  context?: number;
  json?: boolean;
}

/** What sizes a plan: the model's weights and attention shape. */
interface ModelShape {
  /** The model file, or undefined for `--params` input. */
  model: string | undefined;
  architecture: string | undefined;
  params: number;
  bitsPerWeight: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** The context length the model was trained for, when known. */
  contextLength: number | undefined;
}

/** Without a model's own context length, sequences are planned at the engine's default maxModelLen. */
const DEFAULT_CONTEXT = 2048;

/** The options that describe a model instead of `--model`. */
const SHAPE_OPTIONS = ['params', 'bits', 'layers', 'heads', 'kvHeads', 'headDim'];

/**
 * The shape of a GGUF model from its header and tensor index alone: no tensor data is read, so a
 * file of any size costs a few reads. Weight bytes are the tensors' stored bytes.
 * @throws ModelFileError naming the file, CliUsageError for a directory
 */
async function ggufShape(path: string): Promise<ModelShape> {
  const isDirectory = await stat(path).then(
    (s) => s.isDirectory(),
    () => false, // fileSource says why it cannot be opened
  );
  if (isDirectory) {
    throw new CliUsageError(
      `${path} is a directory: budget reads a GGUF file's header; for other models give ` +
        '--params, --bits, --layers, --heads, --kv-heads and --head-dim',
    );
  }
  const source = await fileSource(path);
  try {
    const index = await readGgufIndex(source);
    const config = configFromGguf(index);
    let params = 0;
    let weightBytes = 0;
    for (const tensor of index.tensors.values()) {
      params += tensor.shape.reduce((n, dim) => n * dim, 1);
      weightBytes += tensor.byteLength;
    }
    return {
      model: path,
      architecture: config.architecture,
      params,
      // MemoryBudget rounds params × bits / 8 back to exactly weightBytes.
      bitsPerWeight: (weightBytes * 8) / params,
      numLayers: config.numLayers,
      numHeads: config.numHeads,
      numKvHeads: config.numKvHeads,
      headDim: config.headDim,
      contextLength: config.contextLength,
    };
  } finally {
    await source.close?.();
  }
}

/** The shape given by `--params`, `--bits`, `--layers`, `--heads`, `--kv-heads`, `--head-dim`. */
function givenShape(options: BudgetOptions): ModelShape {
  const { params, bits, layers, heads, headDim } = options;
  if (
    params === undefined ||
    bits === undefined ||
    layers === undefined ||
    heads === undefined ||
    headDim === undefined
  ) {
    const missing = Object.entries({ params, bits, layers, heads, 'head-dim': headDim })
      .filter(([, value]) => value === undefined)
      .map(([name]) => `--${name}`);
    throw new CliUsageError(`--params needs ${missing.join(', ')} too`);
  }
  if (!Number.isSafeInteger(params) || params < 1) {
    throw new CliUsageError(`--params must be a whole number of parameters, got ${params}`);
  }
  return {
    model: undefined,
    architecture: undefined,
    params,
    bitsPerWeight: bits,
    numLayers: layers,
    numHeads: heads,
    numKvHeads: options.kvHeads ?? heads,
    headDim,
    contextLength: undefined,
  };
}

/** The plan, as `--json` prints it (snake_case, bytes and counts as integers). */
export interface BudgetPlan {
  model: string | null;
  architecture: string | null;
  params: number;
  bits_per_weight: number;
  num_layers: number;
  num_heads: number;
  num_kv_heads: number;
  head_dim: number;
  model_context_length: number | null;
  memory_bytes: number;
  weight_bytes: number;
  overhead_bytes: number;
  fits: boolean;
  shortfall_bytes: number;
  kv_budget_bytes: number;
  kv_dtype: KvDtype;
  kv_bytes_per_token: number;
  max_tokens: number;
  block_size: number;
  kv_blocks: number;
  /** Longest sequence the KV blocks hold, capped at the model's context length when known. */
  max_context_length: number;
  /** Tokens per sequence that `max_concurrent_sequences` is counted at. */
  context: number;
  max_concurrent_sequences: number;
}

function toPlan(shape: ModelShape, budget: ModelMemoryBudget, context: number): BudgetPlan {
  const kvContext = budget.numKvBlocks * budget.blockSize;
  return {
    model: shape.model ?? null,
    architecture: shape.architecture ?? null,
    params: shape.params,
    bits_per_weight: shape.bitsPerWeight,
    num_layers: shape.numLayers,
    num_heads: shape.numHeads,
    num_kv_heads: shape.numKvHeads,
    head_dim: shape.headDim,
    model_context_length: shape.contextLength ?? null,
    memory_bytes: budget.totalSystemBytes,
    weight_bytes: budget.modelWeightBytes,
    overhead_bytes: budget.runtimeOverhead,
    fits: budget.fits,
    shortfall_bytes: budget.shortfallBytes,
    kv_budget_bytes: budget.kvCacheBudget,
    kv_dtype: budget.kvDtype,
    kv_bytes_per_token: budget.kvBytesPerToken,
    max_tokens: budget.maxTokens,
    block_size: budget.blockSize,
    kv_blocks: budget.numKvBlocks,
    max_context_length: Math.min(kvContext, shape.contextLength ?? kvContext),
    context,
    max_concurrent_sequences: budget.maxConcurrentSequences(context),
  };
}

/** Bytes in binary units: `1.50 GiB`, `12.3 MiB`, `4.0 KiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ['GiB', 'MiB', 'KiB'] as const;
  for (const [i, unit] of units.entries()) {
    const size = 2 ** (10 * (units.length - i));
    if (bytes >= size) return `${(bytes / size).toFixed(unit === 'GiB' ? 2 : 1)} ${unit}`;
  }
  return `${bytes} B`;
}

function formatTable(p: BudgetPlan, memoryNote: string): string {
  const shape =
    `${p.num_layers} layers, ${p.num_heads} heads (${p.num_kv_heads} KV) × ${p.head_dim} dims` +
    `${p.model_context_length === null ? '' : `, context ${p.model_context_length}`}`;
  const params =
    p.params >= 1e9 ? `${(p.params / 1e9).toFixed(2)}B` : `${(p.params / 1e6).toFixed(2)}M`;
  const rows: Array<[string, string]> = [
    ['model', p.model === null ? shape : `${p.model} (${p.architecture}): ${shape}`],
    ['memory', `${formatBytes(p.memory_bytes)}${memoryNote}`],
    [
      'weights',
      `${formatBytes(p.weight_bytes)} (${params} params at ${p.bits_per_weight.toFixed(2)} bits)`,
    ],
    ['overhead', `${formatBytes(p.overhead_bytes)} (512 MiB + 10% of the weights)`],
  ];
  if (!p.fits) {
    rows.push([
      'KV budget',
      `none: weights and overhead need ${formatBytes(p.shortfall_bytes)} more`,
    ]);
  } else {
    const capped =
      p.model_context_length !== null && p.max_context_length === p.model_context_length;
    rows.push(
      ['KV budget', formatBytes(p.kv_budget_bytes)],
      ['KV bytes per token', `${p.kv_bytes_per_token} (${p.kv_dtype})`],
      ['max tokens', String(p.max_tokens)],
      ['KV blocks', `${p.kv_blocks} × ${p.block_size} tokens`],
      [
        'max context length',
        `${p.max_context_length} tokens (${capped ? "the model's" : 'what the KV cache holds'})`,
      ],
      ['max sequences', `${p.max_concurrent_sequences} at ${p.context} tokens each`],
    );
  }
  return `${rows.map(([label, value]) => `${label.padEnd(20)}${value}`).join('\n')}\n`;
}

/** `xinfer budget`: how a model's weights and KV cache fit in memory, and what that holds. */
export function budgetCommand(io: CliIo): Command {
  return new Command('budget')
    .description('Plan memory and context: weights, overhead, KV cache, tokens and sequences.')
    .addOption(modelOption('GGUF file (only its header is read)').conflicts(SHAPE_OPTIONS))
    .addOption(
      new Option('--params <n>', 'parameter count, e.g. 7e9 (instead of --model)').argParser(
        number,
      ),
    )
    .addOption(
      new Option('--bits <b>', 'bits per weight, e.g. 4.5 (Q4_0), 8.5 (Q8_0), 16').argParser(
        positiveNumber,
      ),
    )
    .addOption(new Option('--layers <n>', 'transformer layers').argParser(positiveInteger))
    .addOption(new Option('--heads <n>', 'attention heads').argParser(positiveInteger))
    .addOption(
      new Option('--kv-heads <n>', 'KV heads (default: --heads)').argParser(positiveInteger),
    )
    .addOption(new Option('--head-dim <n>', 'dimension of one head').argParser(positiveInteger))
    .addOption(
      new Option(
        '--memory-mb <mb>',
        'memory to plan for, in MiB (default: free host memory)',
      ).argParser(positiveNumber),
    )
    .addOption(
      new Option('--kv-dtype <type>', 'KV cache element type')
        .choices(['f16', 'f32', 'q8_0'])
        .default('f16'),
    )
    .addOption(
      new Option('--block-size <n>', 'tokens per KV block').argParser(positiveInteger).default(16),
    )
    .addOption(
      new Option(
        '--context <n>',
        `tokens per sequence for max sequences (default: the model's context, else ${DEFAULT_CONTEXT})`,
      ).argParser(positiveInteger),
    )
    .option('--json', 'print the plan as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ xinfer budget --model SmolLM2-135M-Instruct-Q8_0.gguf
  $ xinfer budget --model llama-3-8b.Q4_K_M.gguf --memory-mb 24576 --context 8192 --kv-dtype q8_0
  $ xinfer budget --params 7e9 --bits 4.5 --layers 32 --heads 32 --kv-heads 8 --head-dim 128 \\
      --memory-mb 16384
  $ xinfer budget -m model.gguf --json | jq .max_concurrent_sequences

Weights are the model file's tensor bytes (or params × bits / 8); overhead is 512 MiB plus 10% of
the weights (@x/budget's rule); the rest is KV cache, in blocks of --block-size tokens.`,
    )
    .action(async (options: BudgetOptions) => {
      const shape =
        options.params !== undefined
          ? givenShape(options)
          : await ggufShape(resolveModelPath(options.model));
      const memoryMb = options.memoryMb ?? freemem() / MemoryBudget.BYTES_PER_MB;
      const context = options.context ?? shape.contextLength ?? DEFAULT_CONTEXT;
      let plan: BudgetPlan;
      try {
        const budget = MemoryBudget.forModel(shape, {
          totalAvailableMb: memoryMb,
          bitsPerWeight: shape.bitsPerWeight,
          kvDtype: options.kvDtype,
          blockSize: options.blockSize,
        });
        plan = toPlan(shape, budget, context);
      } catch (error) {
        // @x/budget names the field at fault (numKvHeads must divide numHeads…).
        if (error instanceof RangeError) throw new CliUsageError(error.message);
        throw error;
      }
      if (options.json) io.out(`${JSON.stringify(plan, null, 2)}\n`);
      else io.out(formatTable(plan, options.memoryMb === undefined ? ' (free host memory)' : ''));
    });
}
