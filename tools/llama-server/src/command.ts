// `llama-server --model M [--port P] [--sequences N] …`: arguments in, a server until told to stop.
import { parseArgs } from 'node:util';
import { defaultThreads, type LlamaServerOptions, startLlamaServer } from './llama-server.js';

/** Wrong command-line arguments. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'LLAMA_SERVER_USAGE';
}

/** The `--help` text. */
export const USAGE = `usage: llama-server --model <file.gguf> [options]

Serves a GGUF model through llama.cpp (node-llama-cpp, CPU) over an OpenAI-compatible HTTP API:
POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health.

  --model <path>         GGUF file (required)
  --host <host>          interface to bind (default 127.0.0.1)
  --port <n>             TCP port, 0 for any free one (default 8080)
  --sequences <n>        requests generating at once, batched together (default 8)
  --context-size <n>     tokens per sequence (default the model's, at most 2048)
  --batch-size <n>       tokens per llama_decode call (default 512)
  --threads <n>          CPU threads (default ${defaultThreads()}: all cores but one)
  --model-id <id>        id served in /v1/models (default the file's base name)
  -h, --help             this text`;

function count(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name}: expected an integer of at least ${min}, got ${value}`);
  }
  return n;
}

/**
 * The server options `argv` (arguments after the script) asks for, or `'help'`.
 * @throws UsageError for unknown options, a missing `--model` or a malformed number
 */
export function parseCommandLine(argv: readonly string[]): LlamaServerOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        model: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        sequences: { type: 'string' },
        'context-size': { type: 'string' },
        'batch-size': { type: 'string' },
        threads: { type: 'string' },
        'model-id': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const str = (name: string) => values[name] as string | undefined;
  const modelPath = str('model');
  if (!modelPath) throw new UsageError('--model <file.gguf> is required');
  const options: LlamaServerOptions = { modelPath, port: count('port', str('port'), 0) ?? 8080 };
  const host = str('host');
  if (host !== undefined) options.host = host;
  const sequences = count('sequences', str('sequences'), 1);
  if (sequences !== undefined) options.sequences = sequences;
  const contextSize = count('context-size', str('context-size'), 2);
  if (contextSize !== undefined) options.contextSize = contextSize;
  const batchSize = count('batch-size', str('batch-size'), 1);
  if (batchSize !== undefined) options.batchSize = batchSize;
  const threads = count('threads', str('threads'), 1);
  if (threads !== undefined) options.threads = threads;
  const modelId = str('model-id');
  if (modelId !== undefined) options.modelId = modelId;
  return options;
}

/**
 * Runs the command: serves until `stop` aborts, then closes. Once it listens it logs its
 * setup, then `llama-server: serving <id> at http://<host>:<port>/v1`, the line scripts wait for.
 * @throws UsageError for bad arguments; node-llama-cpp's error when the model does not load
 */
export async function runCommand(
  argv: readonly string[],
  { log, stop }: { log: (line: string) => void; stop: AbortSignal },
): Promise<void> {
  const options = parseCommandLine(argv);
  if (options === 'help') {
    log(USAGE);
    return;
  }
  const server = await startLlamaServer(options);
  log(
    `llama-server: ${options.modelPath}: ${options.sequences ?? 8} sequences of ` +
      `${server.contextSize} tokens, ${server.threads} CPU thread(s)`,
  );
  log(`llama-server: serving ${server.modelId} at ${server.url}`);
  if (!stop.aborted)
    await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  await server.close();
}
