import { startServer } from '@x/server';
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { modelOption } from '../model-path.js';
import { openEngine } from '../open-engine.js';
import {
  chatTemplateOption,
  type ExecutorName,
  executorOption,
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
  threadsOption,
} from '../options.js';

interface ServeOptions {
  model?: string;
  host: string;
  port: number;
  apiKey?: string;
  executor: ExecutorName;
  threads?: number;
  chatTemplate?: string;
  maxModelLen?: number;
  maxNumSeqs?: number;
  maxWaiting: number;
  kvCacheMemoryMb?: number;
  shutdownTimeout: number;
}

/** Resolves when the process gets SIGTERM or SIGINT; tests pass their own signal. */
export type StopSignal = Promise<string>;

export function processStopSignal(): StopSignal {
  return new Promise((resolve) => {
    const stop = (name: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(name);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
}

/** `xinfer serve`: the OpenAI-compatible server over the engine, until SIGTERM. */
export function serveCommand(io: CliIo, stopSignal: () => StopSignal = processStopSignal): Command {
  return new Command('serve')
    .description('Serve a model over an OpenAI-compatible HTTP API (and a chat page at /).')
    .addOption(modelOption())
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('-p, --port <port>', 'TCP port (0: any free one)', nonNegativeInteger, 8000)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1/*')
    .addOption(executorOption())
    .addOption(threadsOption())
    .addOption(chatTemplateOption())
    .option(
      '--max-model-len <n>',
      'longest sequence, prompt and output (default: 2048 or the model’s context)',
      positiveInteger,
    )
    .option('--max-num-seqs <n>', 'sequences generated at once (default 256)', positiveInteger)
    .option(
      '--max-waiting <n>',
      'requests that may wait before new ones get 429',
      nonNegativeInteger,
      256,
    )
    .option(
      '--kv-cache-memory-mb <mb>',
      'memory for the KV cache (default: half the free memory)',
      positiveNumber,
    )
    .option(
      '--shutdown-timeout <s>',
      'seconds in-flight requests get to finish on SIGTERM',
      positiveNumber,
      30,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ xinfer serve                      # the bundled demo model
  $ xinfer serve --model tinyllama-1.1b-chat.Q8_0.gguf
  $ xinfer serve --model ./SmolLM2-135M-Instruct --port 8080 --api-key secret
  $ curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
      -d '{"model": "tinyllama-1.1b-chat.Q8_0", "messages": [{"role": "user", "content": "Hi"}]}'

SIGTERM or Ctrl-C stops taking requests, lets those in flight finish (--shutdown-timeout),
then exits 0.`,
    )
    .action(async (options: ServeOptions) => {
      const engine = await openEngine(options, {
        maxModelLen: options.maxModelLen,
        maxNumSeqs: options.maxNumSeqs,
        maxBatchSize:
          options.maxNumSeqs !== undefined ? Math.min(32, options.maxNumSeqs) : undefined,
        maxWaitingRequests: options.maxWaiting,
        kvCacheMemoryMb: options.kvCacheMemoryMb,
        log: (line) => io.err(`${line}\n`),
      });
      const server = await startServer({
        engine,
        host: options.host,
        port: options.port,
        apiKey: options.apiKey,
      }).catch(async (error: Error) => {
        await engine.close();
        throw error;
      });
      io.err(
        `xinfer: serving ${server.app.modelId} at ${server.url}/v1 (chat page at ${server.url}/)` +
          `${options.apiKey ? ', API key required' : ''}\n`,
      );
      const signal = await stopSignal();
      io.err(`xinfer: ${signal}: finishing ${server.app.inFlight} request(s) in flight\n`);
      const { aborted } = await server.shutdown(options.shutdownTimeout * 1000);
      const { numFreeBlocks, numBlocks } = engine.metrics;
      await engine.close();
      io.err(
        `xinfer: stopped${aborted ? ` (${aborted} request(s) cut at the deadline)` : ''}; ` +
          `KV blocks free ${numFreeBlocks}/${numBlocks}\n`,
      );
    });
}
