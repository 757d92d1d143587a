import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { InferenceEngine } from '@x/engine';
import { byteLevelTokenizer, type ChatMessage } from '@x/model';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { writeTinyModel } from '../test-helpers.js';
import { runXinfer } from '../testing.js';
import { chatCommand, type InterruptSource } from './chat.js';

let model: string;
let plain: string;
let badTemplate: string;
beforeAll(async () => {
  model = await writeTinyModel();
  plain = await writeTinyModel({ tokenizer: byteLevelTokenizer() }, 'plain.gguf');
  badTemplate = join(mkdtempSync(join(tmpdir(), 'xinfer-chat-')), 'bad.jinja');
  writeFileSync(badTemplate, '{% for %}');
});

const GREEDY = { maxTokens: 24, temperature: 0 };

/** What the engine replies to `messages`, greedy (on the tiny chat model unless told). */
async function engineReply(
  messages: ChatMessage[],
  params = GREEDY,
  options: { model?: string; chatTemplate?: string } = {},
): Promise<string> {
  const engine = await InferenceEngine.create({ model, log: false, ...options });
  try {
    return await engine.chat(messages, params).text();
  } finally {
    await engine.close();
  }
}

const lines = (text: string) => {
  const input = new PassThrough();
  input.end(text);
  return input;
};

describe('xinfer chat', () => {
  it('answers two turns from its input, and the second prompt holds the first exchange', async () => {
    const run = await runXinfer(
      ['chat', '--model', model, '-n', '24'],
      undefined,
      lines('Hello there\nWhat did I say?\n'),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const first = await engineReply([{ role: 'user', content: 'Hello there' }]);
    const history: ChatMessage[] = [
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: first },
      { role: 'user', content: 'What did I say?' },
    ];
    const second = await engineReply(history);
    expect(run.stdout).toBe(`${first}\n${second}\n`);
    // The second reply is not what the question alone gets: the history made the difference.
    expect(second).not.toBe(await engineReply([{ role: 'user', content: 'What did I say?' }]));
    expect(run.stderr).toMatch(/^xinfer: chat with .*tiny\.gguf on CpuWasmExecutor/);
  });

  it('opens with the --system message and stops at /exit', async () => {
    const run = await runXinfer(
      ['chat', '-m', model, '-n', '24', '--system', 'Be brief.'],
      undefined,
      lines('Hi\n\n/exit\nnever asked\n'),
    );
    expect(run.exitCode).toBe(0);
    const reply = await engineReply([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(run.stdout).toBe(`${reply}\n`);
  });

  it('stops a reply on Ctrl-C, keeps what was said, and goes on to the next message', async () => {
    const input = lines('Tell me a long story\nAnd then?\n');
    let interrupt: (() => void) | undefined;
    const interrupts: InterruptSource = (onInterrupt) => {
      interrupt = onInterrupt;
      return () => {
        interrupt = undefined;
      };
    };
    const events: Array<['out' | 'err', string]> = [];
    const io: CliIo = {
      out: (text) => {
        events.push(['out', text]);
        // Ctrl-C as soon as the first reply starts to appear.
        if (events.filter(([kind]) => kind === 'out').length === 1) interrupt?.();
      },
      err: (text) => {
        events.push(['err', text]);
      },
      input,
    };
    const command = chatCommand(io, interrupts).exitOverride();
    await command.parseAsync(['--model', model, '-n', '200'], { from: 'user' });
    expect(interrupt).toBeUndefined(); // the command stopped listening

    const stoppedAt = events.findIndex(([, text]) => text === 'xinfer: reply stopped\n');
    expect(stoppedAt).toBeGreaterThan(0);
    const outs = (from: number, to?: number) =>
      events
        .slice(from, to)
        .filter(([kind]) => kind === 'out')
        .map(([, text]) => text)
        .join('');
    const partial = outs(0, stoppedAt).slice(0, -1); // the reply, then the newline after it
    const full = await engineReply([{ role: 'user', content: 'Tell me a long story' }], {
      maxTokens: 200,
      temperature: 0,
    });
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(full.length);
    expect(full.startsWith(partial)).toBe(true);
    const next = await engineReply(
      [
        { role: 'user', content: 'Tell me a long story' },
        { role: 'assistant', content: partial },
        { role: 'user', content: 'And then?' },
      ],
      { maxTokens: 200, temperature: 0 },
    );
    expect(outs(stoppedAt)).toBe(`${next}\n`);
  });

  it('drops the oldest exchanges when the history outgrows the context', async () => {
    const small = await writeTinyModel({ contextLength: 128 }, 'small.gguf');
    const message = 'a line of forty characters, more or less';
    const run = await runXinfer(
      ['chat', '-m', small, '-n', '16'],
      undefined,
      lines(`${message}\n${message}\n${message}\n`),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('xinfer: dropped the oldest 1 exchange(s) to fit the context');
  });

  it('chats with a base model (no chat template) by continuing the messages as plain text', async () => {
    const run = await runXinfer(
      ['chat', '--model', plain, '-n', '24'],
      undefined,
      lines('In the beginning\nAnd then\n'),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      'plain.gguf has no chat template (a base model): it continues your messages as plain text',
    );
    const first = await engineReply([{ role: 'user', content: 'In the beginning' }], GREEDY, {
      model: plain,
    });
    const second = await engineReply(
      [
        { role: 'user', content: 'In the beginning' },
        { role: 'assistant', content: first },
        { role: 'user', content: 'And then' },
      ],
      GREEDY,
      { model: plain },
    );
    expect(run.stdout).toBe(`${first}\n${second}\n`);
  });

  it('renders with --chat-template instead of the model’s template', async () => {
    const template = '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}[reply] ';
    const file = join(mkdtempSync(join(tmpdir(), 'xinfer-chat-')), 'template.jinja');
    writeFileSync(file, template);
    const run = await runXinfer(
      ['chat', '--model', model, '-n', '24', '--chat-template', file],
      undefined,
      lines('Hello\n'),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const reply = await engineReply([{ role: 'user', content: 'Hello' }], GREEDY, {
      chatTemplate: template,
    });
    expect(run.stdout).toBe(`${reply}\n`);
    expect(reply).not.toBe(await engineReply([{ role: 'user', content: 'Hello' }]));
  });

  it.each([
    [
      ['--model', 'MODEL', '--chat-template', '/nowhere/t.jinja'],
      'cannot read /nowhere/t.jinja: no such file',
    ],
    [['--model', 'MODEL', '--chat-template', 'BAD'], '--chat-template BAD: '],
    [['--model', 'MODEL', '--executor', 'cuda'], "argument 'cuda' is invalid"],
    [['--model', 'MODEL', '--temperature', '5'], 'temperature: must be in [0, 2], got 5'],
    [['--model', '/nowhere/model.gguf'], '/nowhere/model.gguf'],
  ])('fails in one line on %j', async (args, message) => {
    const resolved = args.map((a) => (a === 'BAD' ? badTemplate : a === 'MODEL' ? model : a));
    const run = await runXinfer(['chat', ...resolved], undefined, lines('Hi\n'));
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^xinfer: [^\n]*\n$/);
    expect(run.stderr).toContain(message.replace('BAD', badTemplate));
  });
});
