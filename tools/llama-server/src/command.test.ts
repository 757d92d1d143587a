import { demoModelPath } from '@x/demo-model';
import { describe, expect, it, vi } from 'vitest';
import { parseCommandLine, runCommand, UsageError } from './command.js';

describe('parseCommandLine', () => {
  it('reads the options a benchmark script passes', () => {
    expect(parseCommandLine(['--model', 'm.gguf', '--port', '0', '--sequences', '4'])).toEqual({
      modelPath: 'm.gguf',
      port: 0,
      sequences: 4,
    });
    expect(
      parseCommandLine([
        '--model=m.gguf',
        '--host=0.0.0.0',
        '--context-size=512',
        '--batch-size=64',
        '--threads=2',
        '--model-id=demo',
      ]),
    ).toEqual({
      modelPath: 'm.gguf',
      port: 8080,
      host: '0.0.0.0',
      contextSize: 512,
      batchSize: 64,
      threads: 2,
      modelId: 'demo',
    });
    expect(parseCommandLine(['-h'])).toBe('help');
  });

  it.each([
    [[], /--model <file.gguf> is required/],
    [['--model', 'm.gguf', '--sequences', '0'], /--sequences: expected an integer of at least 1/],
    [['--model', 'm.gguf', '--threads', 'many'], /--threads: expected an integer/],
    [['--model', 'm.gguf', '--gpu'], /Unknown option '--gpu'/],
  ])('rejects %j with a UsageError', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});

describe('runCommand', () => {
  it('says where it serves once it listens, and closes when told to stop', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const running = runCommand(['--model', demoModelPath, '--port', '0', '--sequences', '2'], {
      log: (line) => lines.push(line),
      stop: stop.signal,
    });
    await vi.waitFor(() => expect(lines.at(-1)).toMatch(/^llama-server: serving /), {
      timeout: 30_000,
    });
    const ready = /^llama-server: serving (\S+) at (http:\/\/127\.0\.0\.1:\d+\/v1)$/.exec(
      lines.at(-1) ?? '',
    );
    expect(ready?.[1]).toBe('kjv-demo-5.6M-Q8_0');
    const models = await fetch(`${ready?.[2]}/models`);
    expect(((await models.json()) as { data: Array<{ id: string }> }).data[0]?.id).toBe(
      'kjv-demo-5.6M-Q8_0',
    );
    stop.abort();
    await running;
    await expect(fetch(`${ready?.[2]}/models`)).rejects.toThrow();
  });
});
