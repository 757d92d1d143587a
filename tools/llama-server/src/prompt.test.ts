import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoModelPath } from '@x/demo-model';
import { PLAIN_CHAT_TEMPLATE } from '@x/engine';
import { ChatTemplate } from '@x/model';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startLlamaServer } from './llama-server.js';
import { type ChatMessage, chatPrompter, plainChatText, textPromptTokens } from './prompt.js';
import { createOracle, type Oracle, withChatTemplate } from './test-helpers.js';

describe('plainChatText', () => {
  it("renders messages exactly as xinfer's engine renders them for a model without a template", () => {
    const engine = new ChatTemplate(PLAIN_CHAT_TEMPLATE);
    const message = fc.record({
      role: fc.constantFrom<ChatMessage['role']>('system', 'user', 'assistant'),
      content: fc.string({ unit: fc.constantFrom('a', 'B', ' ', '\n', '\t', 'é', '日', '🙂') }),
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), (messages) => {
        expect(plainChatText(messages)).toBe(engine.render(messages));
      }),
    );
  });
});

// The demo model's weights and vocabulary behind a chat template: a model with a template goes
// through node-llama-cpp's chat wrapper, and its text is tokenized whole, as llama.cpp's server
// and xinfer's engine tokenize a rendered template.
describe('a model with a chat template', () => {
  const TEMPLATE =
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}" +
    '{% if add_generation_prompt %}<|assistant|>\n{% endif %}';
  const RENDERED = '<|system|>\nBe brief.\n<|user|>\nAnd the LORD said\n<|assistant|>\n';
  let path: string;
  let oracle: Oracle;

  beforeAll(async () => {
    path = await withChatTemplate(
      demoModelPath,
      mkdtempSync(join(tmpdir(), 'llama-server-')),
      TEMPLATE,
    );
    oracle = await createOracle(path);
  });
  afterAll(() => oracle?.dispose());

  it('renders through the template, the generation prompt opened, tokenized whole', () => {
    const prompter = chatPrompter(oracle.model);
    expect(prompter.source).toBe('template');
    const ids = prompter.tokens([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'And the LORD said' },
    ]);
    expect(ids).toEqual(textPromptTokens(oracle.model, RENDERED));
    expect(ids[0]).toBe(oracle.model.tokens.bos);
  });

  it('serves chat completions over the rendered prompt', async () => {
    const server = await startLlamaServer({ modelPath: path, sequences: 1, threads: 1 });
    try {
      const client = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: server.modelId,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'And the LORD said' },
        ],
        max_tokens: 8,
        temperature: 0,
      });
      const ids = textPromptTokens(oracle.model, RENDERED);
      const want = await oracle.greedy(ids, 8);
      expect(completion.choices[0]?.message.content).toBe(want.text);
      expect(completion.usage).toMatchObject({
        prompt_tokens: ids.length,
        completion_tokens: want.tokens.length,
      });
    } finally {
      await server.close();
    }
  });
});

describe('a model without a chat template', () => {
  it('is rendered plain', async () => {
    const oracle = await createOracle(demoModelPath);
    try {
      const prompter = chatPrompter(oracle.model);
      expect(prompter.source).toBe('plain');
      expect(prompter.tokens([{ role: 'user', content: ' Amen. ' }])).toEqual([
        oracle.model.tokens.bos,
        ...oracle.model.tokenize('Amen.', true),
      ]);
    } finally {
      await oracle.dispose();
    }
  });
});
