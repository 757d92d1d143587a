import { InferenceEngine } from '@x/engine';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../io.js';
import { resolveModelPath } from '../model-path.js';

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError('must be a number');
  return n;
}

function integer(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

interface GenerateOptions {
  model?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop: string[];
  executor: 'reference' | 'webgpu';
  json?: boolean;
}

/** `xinfer generate`: streams a continuation of a prompt through the engine. */
export function generateCommand(io: CliIo): Command {
  return new Command('generate')
    .description('Continue a prompt with a model, streaming the text (greedy by default).')
    .option('-m, --model <path>', 'GGUF file or Hugging Face directory (default: the demo model)')
    .requiredOption('-p, --prompt <text>', 'the text to continue')
    .option('-n, --max-tokens <n>', 'most tokens to generate', integer, 100)
    .option('-t, --temperature <t>', 'sampling temperature in [0, 2]; 0 is greedy', number, 0)
    .option('--top-p <p>', 'nucleus sampling in (0, 1]', number)
    .option('--top-k <k>', 'keep the k most likely tokens', integer)
    .option('--seed <s>', 'seed for sampling: the same seed gives the same text', integer)
    .option(
      '--stop <text>',
      'stop before this text (repeatable)',
      (value, all: string[]) => [...all, value],
      [],
    )
    .addOption(
      new Option('--executor <name>', 'what runs the model')
        .choices(['reference', 'webgpu'])
        .default('reference'),
    )
    .option('--json', 'print one JSON object: prompt_ids, ids, text, finish_reason, timings')
    .addHelpText(
      'after',
      `
Examples:
  $ xinfer generate --prompt "In the beginning"
  $ xinfer generate --model SmolLM2-135M-Q8_0.gguf --prompt "The capital of France is" -n 20
  $ xinfer generate --prompt "And God said" --temperature 0.8 --seed 1 --stop "."
  $ xinfer generate --prompt "In the beginning" --json | jq .ids`,
    )
    .action(async (options: GenerateOptions) => {
      if (options.executor === 'webgpu') {
        throw new Error('the WebGPU executor is not available yet; use --executor reference');
      }
      const engine = await InferenceEngine.create({
        model: resolveModelPath(options.model),
        executor: 'reference',
        log: false,
      });
      try {
        const stream = engine.generate(options.prompt, {
          maxTokens: options.maxTokens,
          temperature: options.temperature,
          topP: options.topP,
          topK: options.topK,
          seed: options.seed,
          stop: options.stop,
        });
        if (!options.json) {
          io.out(options.prompt);
          for await (const delta of stream) io.out(delta.text);
          io.out('\n');
        }
        const result = await stream.result;
        const { timings } = result;
        if (options.json) {
          io.out(
            `${JSON.stringify({
              model: engine.info.model,
              executor: engine.info.executor,
              prompt_ids: result.promptTokenIds,
              ids: result.tokenIds,
              text: result.text,
              finish_reason: result.finishReason,
              timings: {
                ttft_ms: round(timings.ttftMs),
                total_ms: round(timings.totalMs),
                decode_tok_per_s: round(timings.decodeTokPerSec),
              },
            })}\n`,
          );
        } else {
          io.err(
            `xinfer: ${engine.info.executor}: ${result.usage.completionTokens} tokens, ` +
              `${timings.decodeTokPerSec.toFixed(1)} tok/s, first token after ` +
              `${timings.ttftMs.toFixed(0)} ms (${result.finishReason})\n`,
          );
        }
      } finally {
        await engine.close();
      }
    });
}

const round = (x: number) => Math.round(x * 100) / 100;
