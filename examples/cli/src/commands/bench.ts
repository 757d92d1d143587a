import { setMaxListeners } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  buildLoadTestResult,
  DEFAULT_PROMPTS,
  type LoadTestProgress,
  parsePromptsJsonl,
  runLoadTest,
} from '@x/scoring';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../io.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

interface BenchOptions {
  url: string;
  model: string;
  concurrency: number;
  duration?: number;
  requests?: number;
  runtimeName: string;
  out: string;
  prompts?: string;
  maxTokens: number;
  timeout: number;
  coldStart?: boolean;
  apiKey?: string;
  disconnectFraction?: number;
}

/** A progress bar on a terminal: requests done and live aggregate tok/s. */
function progressBar(io: CliIo, total: number | undefined) {
  if (!io.progress) return undefined;
  const bar = new SingleBar({
    stream: io.progress,
    format: total
      ? ' {bar} {value}/{total} requests | {failed} failed | {tokPerSec} tok/s'
      : ' {value} requests | {failed} failed | {tokPerSec} tok/s | {elapsed}s',
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total ?? 0, 0, { failed: 0, tokPerSec: '0.0', elapsed: '0' });
  return (p: LoadTestProgress | 'stop') => {
    if (p === 'stop') {
      bar.stop();
      return;
    }
    const tokPerSec =
      p.elapsedMs > 0 ? ((p.completionTokens * 1000) / p.elapsedMs).toFixed(1) : '0.0';
    bar.update(p.done, { failed: p.failed, tokPerSec, elapsed: (p.elapsedMs / 1000).toFixed(0) });
  };
}

/**
 * `xinfer bench`: a load generator for any OpenAI-compatible server. Streams chat completions at a
 * fixed concurrency, timestamps every chunk, and writes a `LoadTestResult` for `xinfer score`.
 */
export function benchCommand(io: CliIo): Command {
  return new Command('bench')
    .description('load-test an OpenAI-compatible server and write a LoadTestResult JSON file')
    .requiredOption('--url <url>', 'base URL of the API, e.g. http://127.0.0.1:8000/v1')
    .requiredOption('--model <id>', 'model id to request')
    .requiredOption('--runtime-name <name>', 'name of the runtime in the result (e.g. xinfer-c8)')
    .requiredOption('--out <file>', 'where to write the result JSON')
    .addOption(
      new Option('--concurrency <n>', 'requests in flight at once')
        .argParser(positiveInt)
        .default(1),
    )
    .addOption(new Option('--duration <seconds>', 'run for this long').argParser(positiveSeconds))
    .addOption(
      new Option('--requests <n>', 'make exactly this many requests').argParser(positiveInt),
    )
    .option('--prompts <file>', 'JSONL prompts: {"prompt": …} or {"messages": […]} per line')
    .addOption(
      new Option('--max-tokens <n>', 'max_tokens per request').argParser(positiveInt).default(128),
    )
    .addOption(
      new Option('--timeout <seconds>', 'per-request timeout')
        .argParser(positiveSeconds)
        .default(60),
    )
    .option('--cold-start', "measure one request's time to first token before the run")
    .option('--api-key <key>', 'sent as a bearer token')
    .addOption(
      new Option(
        '--disconnect-fraction <f>',
        'share of clients, in [0, 1), that disconnect mid-stream on purpose (not counted as failed)',
      ).argParser((value) => {
        const f = Number(value);
        if (value.trim() === '' || !(f >= 0 && f < 1)) {
          throw new InvalidArgumentError('must be a number in [0, 1)');
        }
        return f;
      }),
    )
    .action(async (options: BenchOptions, command: Command) => {
      if ((options.duration === undefined) === (options.requests === undefined)) {
        command.error('error: give exactly one of --duration and --requests');
      }
      const prompts = options.prompts
        ? parsePromptsJsonl(await readFile(options.prompts, 'utf8'), options.prompts)
        : DEFAULT_PROMPTS;
      const stopped = new AbortController();
      // Every request in flight listens on it: more than Node's default of 10 is expected.
      setMaxListeners(options.concurrency + 10, stopped.signal);
      const onSigint = () => stopped.abort(new Error('interrupted'));
      process.once('SIGINT', onSigint);
      const progress = progressBar(io, options.requests);
      try {
        const outcome = await runLoadTest({
          url: options.url,
          model: options.model,
          concurrency: options.concurrency,
          requests: options.requests,
          durationMs: options.duration === undefined ? undefined : options.duration * 1000,
          prompts,
          maxTokens: options.maxTokens,
          timeoutMs: options.timeout * 1000,
          apiKey: options.apiKey,
          measureColdStart: options.coldStart,
          disconnectFraction: options.disconnectFraction,
          signal: stopped.signal,
          onProgress: progress,
        });
        const result = buildLoadTestResult(outcome.timings, {
          runtimeName: options.runtimeName,
          concurrency: options.concurrency,
          elapsedSecs: outcome.elapsedSecs,
          startedAt: outcome.startedAt,
          coldStartMs: outcome.coldStartMs,
        });
        await mkdir(dirname(options.out), { recursive: true });
        await writeFile(options.out, `${JSON.stringify(result, null, 2)}\n`);
        progress?.('stop');
        io.out(
          `${options.out}: ${result.total_requests} requests (${result.failed} failed) in ` +
            `${result.elapsed_secs.toFixed(1)} s, TTFT p50 ${result.ttft_p50_ms.toFixed(1)} ms, ` +
            `ITL p50 ${result.itl_p50_ms.toFixed(1)} ms, decode ${result.decode_tok_per_sec.toFixed(1)} tok/s, ` +
            `aggregate ${result.tokens_per_sec.toFixed(1)} tok/s` +
            `${outcome.disconnected ? `; ${outcome.disconnected} disconnected on purpose` : ''}\n`,
        );
      } finally {
        progress?.('stop');
        process.removeListener('SIGINT', onSigint);
      }
    });
}
