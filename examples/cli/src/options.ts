import { InvalidArgumentError, Option } from 'commander';

/** Parses a finite number (`7e9` included). @throws InvalidArgumentError */
export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError('must be a number');
  return n;
}

/** Parses an integer. @throws InvalidArgumentError */
export function integer(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

/** Parses an integer ≥ 1. @throws InvalidArgumentError */
export function positiveInteger(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer ≥ 1');
  return n;
}

/** Parses an integer ≥ 0. @throws InvalidArgumentError */
export function nonNegativeInteger(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer ≥ 0');
  return n;
}

/** Parses a number > 0. @throws InvalidArgumentError */
export function positiveNumber(value: string): number {
  const n = number(value);
  if (n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** What `--executor` offers. */
export const EXECUTORS = ['auto', 'cpu', 'reference', 'webgpu'] as const;
/** An executor `--executor` names. */
export type ExecutorName = (typeof EXECUTORS)[number];

/** `--executor auto|cpu|reference|webgpu`, default `auto`. */
export function executorOption(): Option {
  return new Option(
    '--executor <name>',
    'what runs the model: auto (WebGPU on a hardware adapter, else cpu), cpu (WebAssembly SIMD on worker threads), reference (plain TypeScript, one thread) or webgpu (any adapter, lavapipe included)',
  )
    .choices(EXECUTORS)
    .default('auto');
}

/** `--threads <n>`: the CPU executor's worker threads. */
export function threadsOption(): Option {
  return new Option(
    '--threads <n>',
    "the CPU executor's worker threads (default: the machine's cores)",
  ).argParser(positiveInteger);
}

/** `--chat-template <file>`: a Jinja chat template instead of the model's. */
export function chatTemplateOption(): Option {
  return new Option(
    '--chat-template <file>',
    "Jinja chat template to use instead of the model's (a model without one joins messages as plain text)",
  );
}

/** `-n, --max-tokens <n>`: the engine checks the range. */
export function maxTokensOption(defaultValue: number): Option {
  return new Option('-n, --max-tokens <n>', 'most tokens to generate')
    .argParser(integer)
    .default(defaultValue);
}

/** `-t, --temperature <t>`, default 0: greedy unless asked otherwise. */
export function temperatureOption(): Option {
  return new Option('-t, --temperature <t>', 'sampling temperature in [0, 2]; 0 is greedy')
    .argParser(number)
    .default(0);
}

/** `--seed <s>`. */
export function seedOption(): Option {
  return new Option('--seed <s>', 'seed for sampling: the same seed gives the same text').argParser(
    integer,
  );
}
