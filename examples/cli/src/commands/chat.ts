import { createInterface } from 'node:readline/promises';
import { type InferenceEngine, resolveGenerationParams } from '@x/engine';
import type { ChatMessage } from '@x/model';
import { Command } from 'commander';
import { formatError } from '../errors.js';
import type { CliIo } from '../io.js';
import { modelOption } from '../model-path.js';
import { openEngine } from '../open-engine.js';
import {
  chatTemplateOption,
  type ExecutorName,
  executorOption,
  maxTokensOption,
  seedOption,
  temperatureOption,
  threadsOption,
} from '../options.js';

interface ChatOptions {
  model?: string;
  system?: string;
  maxTokens: number;
  temperature: number;
  seed?: number;
  executor: ExecutorName;
  threads?: number;
  chatTemplate?: string;
}

/**
 * Calls `onInterrupt` on each Ctrl-C until the returned function is called. Tests pass their own.
 */
export type InterruptSource = (onInterrupt: () => void) => () => void;

/** Ctrl-C as the process gets it: SIGINT (the terminal stays in line mode, so it is a signal). */
export const processInterrupts: InterruptSource = (onInterrupt) => {
  process.on('SIGINT', onInterrupt);
  return () => process.off('SIGINT', onInterrupt);
};

/** Why a reply stopped early. */
class ReplyInterrupted extends Error {
  override readonly name = 'ReplyInterrupted';
}

const promptTokens = (engine: InferenceEngine, messages: readonly ChatMessage[]) =>
  engine.encodeChatPrompt(engine.renderChat(messages)).length;

/**
 * Drops the oldest exchanges (user turn and reply; a system message stays) until the rendered
 * history leaves room for a reply of `maxTokens`, or half the context when that is less.
 * @returns how many exchanges were dropped
 */
function fitHistory(engine: InferenceEngine, messages: ChatMessage[], maxTokens: number): number {
  const first = messages[0]?.role === 'system' ? 1 : 0;
  const maxModelLen = engine.info.maxModelLen;
  const room = Math.min(maxTokens, Math.floor(maxModelLen / 2));
  let dropped = 0;
  while (messages.length - first > 1 && promptTokens(engine, messages) + room > maxModelLen) {
    messages.splice(first, 2);
    dropped++;
  }
  return dropped;
}

/**
 * `xinfer chat`: a terminal chat with history, rendered with the model's chat template (or
 * `--chat-template`; a base model's messages are joined as plain text).
 */
export function chatCommand(io: CliIo, interrupts: InterruptSource = processInterrupts): Command {
  return new Command('chat')
    .description('Chat with a model in the terminal, streaming each reply (greedy by default).')
    .addOption(modelOption())
    .option('-s, --system <text>', 'a system message that opens the conversation')
    .addOption(maxTokensOption(256))
    .addOption(temperatureOption())
    .addOption(seedOption())
    .addOption(executorOption())
    .addOption(threadsOption())
    .addOption(chatTemplateOption())
    .addHelpText(
      'after',
      `
Examples:
  $ xinfer chat --model SmolLM2-135M-Instruct-Q8_0.gguf
  $ xinfer chat -m qwen2.5-0.5b-instruct-q8_0.gguf --system "Answer in one sentence." -t 0.7 --seed 1
  $ printf 'Hi\\nWhat did I just say?\\n' | xinfer chat -m model.gguf > replies.txt
  $ xinfer chat -m base-model.gguf --chat-template chatml.jinja

Type a message and press Enter. /exit or Ctrl-D ends the chat; Ctrl-C stops a reply and keeps
what was said so far (at the prompt, it ends the chat). When the history no longer fits the
context, the oldest exchanges are dropped (the system message stays). Replies go to stdout, one
per line; notes go to stderr.`,
    )
    .action(async (options: ChatOptions) => {
      const params = {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        seed: options.seed,
      };
      resolveGenerationParams(params);
      const engine = await openEngine(options);
      try {
        if (engine.info.chatTemplate === 'plain') {
          io.err(
            `xinfer: ${engine.info.model} has no chat template (a base model): it continues ` +
              'your messages as plain text (--chat-template sets one)\n',
          );
        }
        await converse(engine, io, interrupts, options.system, params);
      } finally {
        await engine.close();
      }
    });
}

async function converse(
  engine: InferenceEngine,
  io: CliIo,
  interrupts: InterruptSource,
  system: string | undefined,
  params: { maxTokens: number; temperature: number; seed: number | undefined },
): Promise<void> {
  const input = io.input ?? process.stdin;
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  // Not a readline terminal: the terminal's own line editing echoes, and Ctrl-C stays a signal.
  const rl = createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
  const lines = rl[Symbol.asyncIterator]();
  const messages: ChatMessage[] = system === undefined ? [] : [{ role: 'system', content: system }];
  let reply: AbortController | undefined;
  const stopListening = interrupts(() => {
    if (reply) reply.abort(new ReplyInterrupted('reply stopped'));
    else rl.close();
  });
  io.err(
    `xinfer: chat with ${engine.info.model} on ${engine.info.executor} ` +
      '(/exit or Ctrl-D ends it, Ctrl-C stops a reply)\n',
  );
  try {
    for (;;) {
      if (interactive) io.out('> ');
      const next = await lines.next();
      if (next.done || next.value.trim() === '/exit') break;
      if (next.value.trim() === '') continue;
      messages.push({ role: 'user', content: next.value });
      let answer = '';
      reply = new AbortController();
      try {
        const dropped = fitHistory(engine, messages, params.maxTokens);
        if (dropped > 0) {
          io.err(`xinfer: dropped the oldest ${dropped} exchange(s) to fit the context\n`);
        }
        const stream = engine.chat(messages, params, { signal: reply.signal });
        for await (const delta of stream) {
          answer += delta.text;
          io.out(delta.text);
        }
        io.out('\n');
      } catch (error) {
        if (!reply.signal.aborted) {
          // This message could not be answered (too long, a template error): forget it, go on.
          messages.pop();
          io.err(formatError(error));
          continue;
        }
        io.out('\n');
        io.err('xinfer: reply stopped\n');
      } finally {
        reply = undefined;
      }
      messages.push({ role: 'assistant', content: answer });
    }
    if (interactive) io.out('\n');
  } finally {
    stopListening();
    rl.close();
  }
}
