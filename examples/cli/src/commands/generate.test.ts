import { demoModelPath } from '@x/demo-model';
import { InferenceEngine } from '@x/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../test-helpers.js';
import { runXinfer } from '../testing.js';

let model: string;
beforeAll(async () => {
  model = await writeTinyModel({ contextLength: 256 });
});

async function engineOutput(
  prompt: string,
  maxTokens: number,
  executor: 'reference' | 'webgpu' = 'reference',
) {
  const engine = await InferenceEngine.create({ model, log: false, executor });
  const result = await engine.generate(prompt, { maxTokens, temperature: 0 }).result;
  await engine.close();
  return result;
}

describe('xinfer generate', () => {
  it('runs the bundled demo model when no --model is given, and writes scripture-like English', async () => {
    const { stdout, exitCode } = await runXinfer([
      'generate',
      '--prompt',
      'In the beginning',
      '--max-tokens',
      '32',
      '--json',
      '--executor',
      'reference',
    ]);
    expect(exitCode).toBe(0);
    const json = JSON.parse(stdout);
    expect(json.model).toBe(demoModelPath);
    expect(json.text).toBe(
      ' of the LORD came the word of the LORD, and the God of Israel came unto me, and said, The LORD hath given me the God of Israel to',
    );
  });

  it('streams the greedy continuation after the prompt and reports the speed', async () => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'x',
      '--max-tokens',
      '20',
      '--executor',
      'reference',
    ]);
    expect(exitCode).toBe(0);
    expect(stdout).toBe(`x${(await engineOutput('x', 20)).text}\n`);
    expect(stderr).toMatch(
      /^xinfer: ReferenceExecutor: 20 tokens, [\d.]+ tok\/s, first token after \d+ ms \(length\)\n$/,
    );
  });

  it('prints one JSON object with --json', async () => {
    const { stdout, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'In the beginning',
      '-n',
      '12',
      '--json',
      '--executor',
      'reference',
    ]);
    expect(exitCode).toBe(0);
    const json = JSON.parse(stdout);
    const expected = await engineOutput('In the beginning', 12);
    expect(json).toMatchObject({
      executor: 'ReferenceExecutor',
      prompt_ids: expected.promptTokenIds,
      ids: expected.tokenIds,
      text: expected.text,
      finish_reason: expected.finishReason,
    });
    expect(json.timings.total_ms).toBeGreaterThan(0);
  });

  it('runs on the WebGPU executor with --executor webgpu (lavapipe where there is no GPU)', async () => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'In the beginning',
      '-n',
      '12',
      '--json',
      '--executor',
      'webgpu',
    ]);
    expect(exitCode, stderr).toBe(0);
    const json = JSON.parse(stdout);
    const expected = await engineOutput('In the beginning', 12, 'webgpu');
    expect(json).toMatchObject({
      executor: 'WebGpuExecutor',
      ids: expected.tokenIds,
      text: expected.text,
    });
  }, 120_000);

  it('runs on the CPU executor with --executor cpu --threads 2: the reference greedy text', async () => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'In the beginning',
      '-n',
      '12',
      '--json',
      '--executor',
      'cpu',
      '--threads',
      '2',
    ]);
    expect(exitCode, stderr).toBe(0);
    const json = JSON.parse(stdout);
    const expected = await engineOutput('In the beginning', 12);
    expect(json).toMatchObject({
      executor: 'CpuWasmExecutor',
      ids: expected.tokenIds,
      text: expected.text,
    });
  });

  it.each([
    [
      ['--threads', '2', '--executor', 'reference'],
      "xinfer: threads: sets the CPU executor's threads: it needs executor 'cpu' or 'auto'\n",
    ],
    [
      ['--threads', '0'],
      "xinfer: option '--threads <n>' argument '0' is invalid. must be an integer ≥ 1 " +
        '(see xinfer generate --help)\n',
    ],
    [['--temperature', '5'], 'xinfer: temperature: must be in [0, 2], got 5\n'],
    [
      ['--max-tokens', 'many'],
      "xinfer: option '-n, --max-tokens <n>' argument 'many' is invalid. must be a number " +
        '(see xinfer generate --help)\n',
    ],
    [['--model', '/nowhere.gguf'], 'xinfer: /nowhere.gguf: cannot read: ENOENT'],
  ])('fails in one line on %j', async (args, message) => {
    const { stdout, stderr, exitCode } = await runXinfer([
      'generate',
      '--model',
      model,
      '--prompt',
      'x',
      ...args,
    ]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^xinfer: [^\n]*\n$/);
    expect(stderr.startsWith(message)).toBe(true);
  });

  it('needs a prompt', async () => {
    const { stderr, exitCode } = await runXinfer(['generate', '--model', model]);
    expect(exitCode).toBe(1);
    expect(stderr).toBe(
      "xinfer: required option '-p, --prompt <text>' not specified (see xinfer generate --help)\n",
    );
  });
});
