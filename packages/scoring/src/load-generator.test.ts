import { describe, expect, it } from 'vitest';
import { LoadTestOptionsError, parsePromptsJsonl, runLoadTest } from './load-generator.js';

const base = {
  url: 'http://127.0.0.1:9/v1',
  model: 'm',
  concurrency: 1,
  requests: 1,
  prompts: [{ messages: [{ role: 'user' as const, content: 'hi' }] }],
  maxTokens: 8,
};

describe('runLoadTest options', () => {
  it.each([
    ['url', { url: 'ftp://x/v1' }],
    ['url', { url: 'not a url' }],
    ['concurrency', { concurrency: 0 }],
    ['requests', { requests: undefined }],
    ['requests', { durationMs: 1000 }],
    ['requests', { requests: 1.5 }],
    ['prompts', { prompts: [] }],
    ['maxTokens', { maxTokens: 0 }],
  ] as const)('rejects a bad %s before sending anything', async (option, patch) => {
    await expect(runLoadTest({ ...base, ...patch })).rejects.toThrow(
      expect.objectContaining({ option, code: 'LOAD_TEST_INVALID_OPTIONS' }),
    );
  });

  it('records a refused connection as a failed request, not a throw', async () => {
    const outcome = await runLoadTest({ ...base, requests: 2 });
    expect(outcome.timings.map((t) => t.status)).toEqual(['error', 'error']);
  });
});

describe('parsePromptsJsonl', () => {
  it('reads prompt and messages lines and skips blank lines', () => {
    const prompts = parsePromptsJsonl(
      '{"prompt": "a"}\n\n{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "b"}]}\n',
    );
    expect(prompts).toEqual([
      { messages: [{ role: 'user', content: 'a' }] },
      {
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'b' },
        ],
      },
    ]);
  });

  it('names the file and line of a bad entry', () => {
    expect(() => parsePromptsJsonl('{"prompt": "a"}\n{"nope": 1}', 'p.jsonl')).toThrow(
      LoadTestOptionsError,
    );
    expect(() => parsePromptsJsonl('{"prompt": "a"}\n{"nope": 1}', 'p.jsonl')).toThrow(
      'p.jsonl:2:',
    );
    expect(() => parsePromptsJsonl('{', 'p.jsonl')).toThrow('p.jsonl:1: not JSON');
  });
});
