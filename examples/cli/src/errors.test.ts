import { EngineError, GenerationParamsError } from '@x/engine';
import { ModelFileError } from '@x/model';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { cannotRead, formatError } from './errors.js';
import { runXinfer } from './testing.js';

describe('formatError', () => {
  it.each([
    [
      new GenerationParamsError('topP', 'must be in (0, 1], got 2'),
      'xinfer: topP: must be in (0, 1], got 2\n',
    ],
    [
      new EngineError(
        'the chat template failed: first message must be from the user',
        'ENGINE_CHAT_TEMPLATE',
      ),
      'xinfer: the chat template failed: first message must be from the user\n',
    ],
    [
      new ModelFileError('not a GGUF file', 'MODEL_CORRUPT', { file: 'm.gguf' }),
      'xinfer: m.gguf: not a GGUF file\n',
    ],
    [new InvalidArgumentError('must be a number'), 'xinfer: must be a number\n'],
    [
      cannotRead('a.json', Object.assign(new Error('x'), { code: 'ENOENT' })),
      'xinfer: cannot read a.json: no such file\n',
    ],
    [new Error('first\n  second'), 'xinfer: first second\n'],
  ])('prints %s as one line', (error, line) => {
    expect(formatError(error, {})).toBe(line);
  });

  it('adds the stack only with XINFER_DEBUG', () => {
    const error = new TypeError('boom');
    expect(formatError(error, { XINFER_DEBUG: '1' })).toBe(`xinfer: boom\n${error.stack}\n`);
  });

  it("turns commander's errors into one xinfer line", async () => {
    const run = await runXinfer(['generate', '-m', 'm.gguf', '-p', 'x', '--frobnicate']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe("xinfer: unknown option '--frobnicate' (see xinfer generate --help)\n");
  });
});
