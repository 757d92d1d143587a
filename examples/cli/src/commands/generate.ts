import { resolveGenerationParams } from '@x/engine';
import { Command, Option } from 'commander';
import {
  type ConstraintCliOptions,
  constraintFromOptions,
  constraintOptions,
  prepareConstraint,
} from '../constraints.js';
import type { CliIo } from '../io.js';
import { modelOption } from '../model-path.js';
import { openEngine } from '../open-engine.js';
import {
  type ExecutorName,
  executorOption,
  integer,
  maxTokensOption,
  number,
  seedOption,
  temperatureOption,
  threadsOption,
} from '../options.js';

interface GenerateOptions extends ConstraintCliOptions {
  model?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop: string[];
  executor: ExecutorName;
  threads?: number;
  json?: boolean;
}

/** `xinfer generate`: streams a continuation of a prompt through the engine. */
export function generateCommand(io: CliIo): Command {
  const command = new Command('generate')
    .description('Continue a prompt with a model, streaming the text (greedy by default).')
    .addOption(modelOption())
    .requiredOption('-p, --prompt <text>', 'the text to continue')
    .addOption(maxTokensOption(100))
    .addOption(temperatureOption())
    .addOption(new Option('--top-p <p>', 'nucleus sampling in (0, 1]').argParser(number))
    .addOption(new Option('--top-k <k>', 'keep the k most likely tokens').argParser(integer))
    .addOption(seedOption())
    .option(
      '--stop <text>',
      'stop before this text (repeatable)',
      (value, all: string[]) => [...all, value],
      [],
    )
    .addOption(executorOption())
    .addOption(threadsOption());
  for (const option of constraintOptions()) command.addOption(option);
  return command
    .option('--json', 'print one JSON object: prompt_ids, ids, text, finish_reason, timings')
    .addHelpText(
      'after',
      `
Examples:
  $ xinfer generate --model SmolLM2-135M-Q8_0.gguf --prompt "The capital of France is" -n 20
  $ xinfer generate -m model.gguf --prompt "And God said" --temperature 0.8 --seed 1 --stop "."
  $ xinfer generate -m model.gguf --prompt "In the beginning" --json | jq .ids
  $ xinfer generate -m model.gguf --prompt "A user:" --json-schema user.schema.json | jq .name
  $ xinfer generate -m model.gguf --prompt "Ada, 36:" -j '{"type": "object", "properties": {"age": {"type": "integer"}}}'
  $ xinfer generate -m model.gguf --prompt "Is it safe?" --grammar 'root ::= "yes" | "no"'
  $ xinfer generate -m model.gguf --prompt "Mood:" --choice happy --choice sad

The prompt and its continuation go to stdout; one line with the executor, tokens, decode tok/s and
time to first token goes to stderr. With a constraint (-j/--json-schema, --json-object, --grammar,
--grammar-file, --regex, --choice; at most one) only the continuation goes to stdout, so that it
is the JSON or text the constraint asks for (it may be incomplete when --max-tokens runs out
first: finish reason length).`,
    )
    .action(async (options: GenerateOptions) => {
      const params = {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        topP: options.topP,
        topK: options.topK,
        seed: options.seed,
        stop: options.stop,
      };
      // Bad parameters, constraint files and schemas fail before a (possibly large) model is
      // loaded; a grammar that does not compile fails before anything is generated.
      resolveGenerationParams(params);
      const constraint = constraintFromOptions(options);
      const engine = await openEngine(options);
      try {
        if (constraint) await prepareConstraint(engine, constraint);
        const stream = engine.generate(options.prompt, {
          ...params,
          constraint: constraint?.constraint,
        });
        if (!options.json) {
          if (!constraint) io.out(options.prompt);
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
              `${timings.ttftMs.toFixed(0)} ms (${result.finishReason})` +
              (constraint && result.finishReason === 'length'
                ? '; the output may be incomplete: it stopped at --max-tokens'
                : '') +
              '\n',
          );
        }
      } finally {
        await engine.close();
      }
    });
}

const round = (x: number) => Math.round(x * 100) / 100;
