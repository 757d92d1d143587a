import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TokenBatcher } from '@x/batcher';
import { type Constraint, type InferenceEngine, resolveGenerationParams } from '@x/engine';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import {
  type BatchProgress,
  type BatchRequest,
  type BatchResult,
  batchProgress,
  isBatchRequest,
  parseBatchLine,
} from '../batch-jsonl.js';
import { constraintErrorLine } from '../constraints.js';
import { CliUsageError, cannotRead, errorMessage } from '../errors.js';
import type { CliIo } from '../io.js';
import { modelOption } from '../model-path.js';
import { openEngine } from '../open-engine.js';
import {
  chatTemplateOption,
  type ExecutorName,
  executorOption,
  maxTokensOption,
  positiveInteger,
  seedOption,
  temperatureOption,
  threadsOption,
} from '../options.js';

interface BatchOptions {
  model?: string;
  input: string;
  output: string;
  maxTokens: number;
  temperature: number;
  seed?: number;
  concurrency: number;
  executor: ExecutorName;
  threads?: number;
  chatTemplate?: string;
}

/** A request ready for the engine: its prompt's token ids, which are also its cost. */
interface Prepared {
  request: BatchRequest;
  ids: number[];
}

/**
 * What an earlier run wrote to `path`, with a partial last line (a run killed mid-write) cut off
 * so that new lines start on a line of their own.
 */
async function resumeOutput(path: string): Promise<BatchProgress> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { done: new Set(), keepBytes: 0, needsNewline: false };
    }
    throw cannotRead(path, error);
  }
  const progress = batchProgress(text);
  if (progress.keepBytes < Buffer.byteLength(text, 'utf8')) {
    await truncate(path, progress.keepBytes);
  }
  return progress;
}

/** The prompt's token ids, as `engine.generate` or `engine.chat` would feed them. */
function prepare(engine: InferenceEngine, request: BatchRequest): Prepared | BatchResult {
  try {
    const ids =
      request.messages !== undefined
        ? engine.encodeChatPrompt(engine.renderChat(request.messages))
        : engine.model.tokenizer.encode(request.prompt ?? '');
    return { request, ids };
  } catch (error) {
    return { id: request.id, line: request.line, error: errorMessage(error) };
  }
}

/** A progress bar on a terminal: lines done of those this run does. */
function progressBar(io: CliIo, total: number) {
  if (!io.progress || total === 0) return undefined;
  const bar = new SingleBar({
    stream: io.progress,
    format: ' {bar} {value}/{total} lines | {failed} failed | {tokPerSec} tok/s',
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0, { failed: 0, tokPerSec: '0.0' });
  return bar;
}

/**
 * `xinfer batch`: runs every line of a JSONL file through the engine, in batches formed by
 * `@x/batcher`'s `TokenBatcher`, and appends one result line per input line. A re-run with the same
 * output skips the lines that already have a result.
 */
export function batchCommand(io: CliIo): Command {
  return new Command('batch')
    .description('Run a JSONL file of prompts through a model; write one JSONL result per line.')
    .addOption(modelOption())
    .requiredOption(
      '-i, --input <file>',
      'JSONL: {"id"?, "prompt"} or {"id"?, "messages"} per line',
    )
    .requiredOption('-o, --output <file>', 'JSONL results, appended; a re-run resumes from it')
    .addOption(maxTokensOption(100))
    .addOption(temperatureOption())
    .addOption(seedOption())
    .addOption(
      new Option('-c, --concurrency <n>', 'requests per batch, generated together')
        .argParser(positiveInteger)
        .default(8),
    )
    .addOption(executorOption())
    .addOption(threadsOption())
    .addOption(chatTemplateOption())
    .addHelpText(
      'after',
      `
Examples:
  $ xinfer batch --model model.gguf --input prompts.jsonl --output results.jsonl
  $ xinfer batch -m model.gguf -i prompts.jsonl -o results.jsonl --concurrency 16 -n 200 -t 0.7 --seed 1

Input, one JSON object a line (blank lines are skipped):
  {"id": "a", "prompt": "In the beginning"}
  {"id": 2, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50, "temperature": 0.7, "seed": 1}
  {"id": 3, "prompt": "Ada, 36:", "response_format": {"type": "json_schema", "json_schema": {"name": "user", "schema": {"type": "object"}}}}

A line may hold its output to at most one constraint: "response_format" ({"type": "json_object"},
{"type": "json_schema", "json_schema": {"name", "schema", "strict"}} or {"type": "text"}, as
OpenAI's), "json_schema" (a JSON Schema), "grammar" (GBNF), "regex" (a pattern) or "choice" (an
array of strings).

Output, one line per input line, in the order they finish ("line" is the input line number):
  {"id":"a","line":1,"text":"…","finish_reason":"length","usage":{"prompt_tokens":16,"completion_tokens":100,"total_tokens":116}}
  {"id":null,"line":3,"error":"not valid JSON: …"}

A bad line (a constraint that is malformed or does not compile included) gets an error line and
the run goes on. Each result is appended as soon as it is done, so a run that is stopped loses
only the lines in flight; run the same command again to do the lines without a result (error
lines are retried).`,
    )
    .action(async (options: BatchOptions) => {
      const base = {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        seed: options.seed,
      };
      resolveGenerationParams(base);
      if (resolve(options.input) === resolve(options.output)) {
        throw new CliUsageError('--output must be another file than --input');
      }
      let inputText: string;
      try {
        inputText = await readFile(options.input, 'utf8');
      } catch (error) {
        throw cannotRead(options.input, error);
      }
      await mkdir(dirname(resolve(options.output)), { recursive: true });
      const previous = await resumeOutput(options.output);
      const todo: Array<BatchRequest | BatchResult> = [];
      let skipped = 0;
      inputText.split('\n').forEach((text, i) => {
        const line = i + 1;
        if (text.trim() === '') return;
        if (previous.done.has(line)) skipped++;
        else todo.push(parseBatchLine(text, line));
      });

      const engine = await openEngine(options);
      const out = await open(options.output, 'a');
      const bar = progressBar(io, todo.length);
      const started = performance.now();
      const counts = { done: 0, failed: 0, tokens: 0 };
      const tokPerSec = () =>
        ((counts.tokens * 1000) / Math.max(1, performance.now() - started)).toFixed(1);
      // One write at a time, each a whole line, in the order results finish.
      let writing: Promise<void> = previous.needsNewline
        ? out.write('\n').then(() => {})
        : Promise.resolve();
      const record = (result: BatchResult): Promise<void> => {
        writing = writing.then(async () => {
          await out.write(`${JSON.stringify(result)}\n`);
          counts.done++;
          if ('error' in result) counts.failed++;
          else counts.tokens += result.usage.completion_tokens;
          bar?.update(counts.done, { failed: counts.failed, tokPerSec: tokPerSec() });
        });
        return writing;
      };
      // One constraint compile at a time. Lines that share a constraint compile it once (the
      // engine caches it); and xgrammar (0.1.27) loads its WebAssembly again for each call
      // that starts while its first load is in flight, so two kinds of constraint compiling at
      // once on first use (a schema and a grammar in the first batch) would mix two instances
      // ("Expected null or instance of VectorInt, got an instance of VectorInt").
      let compiling: Promise<unknown> = Promise.resolve();
      const prepareConstraint = (constraint: Constraint): Promise<void> => {
        const compiled = compiling.then(() => engine.prepareConstraint(constraint));
        compiling = compiled.catch(() => {});
        return compiled;
      };
      const generate = async ({ request, ids }: Prepared): Promise<BatchResult> => {
        const { id, line, constraint } = request;
        try {
          // A grammar that does not compile fails here, before the line is queued.
          if (constraint) await prepareConstraint(constraint.constraint);
          const result = await engine.generate(ids, {
            ...base,
            ...request.params,
            constraint: constraint?.constraint,
          }).result;
          return {
            id,
            line,
            text: result.text,
            finish_reason: result.finishReason,
            usage: {
              prompt_tokens: result.usage.promptTokens,
              completion_tokens: result.usage.completionTokens,
              total_tokens: result.usage.totalTokens,
            },
          };
        } catch (error) {
          const reason = constraint && constraintErrorLine(error, constraint);
          return { id, line, error: reason ?? errorMessage(error) };
        }
      };
      // Each batch goes to the engine at once (it batches their steps) and is awaited whole;
      // a batch holds at most --concurrency requests and about one step's worth of prompt tokens.
      const batcher = new TokenBatcher<Prepared, BatchResult>({
        processFn: (batch) =>
          Promise.all(
            batch.map(async (prepared) => {
              const result = await generate(prepared);
              await record(result);
              return result;
            }),
          ),
        costEstimator: (prepared) => prepared.ids.length,
        targetBatchCost: engine.config.maxTotalTokens,
        maxBatchSize: options.concurrency,
      });
      try {
        const settled: Array<Promise<unknown>> = [];
        for (const item of todo) {
          const prepared = isBatchRequest(item) ? prepare(engine, item) : item;
          settled.push('ids' in prepared ? batcher.submit(prepared) : record(prepared));
        }
        await Promise.all(settled);
        await batcher.close();
        await writing;
      } finally {
        bar?.stop();
        await out.close();
        await engine.close();
      }
      const seconds = (performance.now() - started) / 1000;
      io.out(
        `${options.output}: ${counts.done} line${counts.done === 1 ? '' : 's'} done ` +
          `(${counts.failed} failed)` +
          `${skipped ? `, ${skipped} skipped (done before)` : ''}; ` +
          `${counts.tokens} tokens in ${seconds.toFixed(1)} s (${tokPerSec()} tok/s)\n`,
      );
    });
}
