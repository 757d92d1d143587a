// Which text format a model writes tool calls in, read off its Jinja chat template the way
// llama.cpp's `common_chat_templates` does: by the markers the template itself writes.

/**
 * The tool-call syntaxes of local model families.
 *
 * - `hermes`: `<tool_call>\n{"name": "f", "arguments": {…}}\n</tool_call>`, possibly several in a
 *   row, after optional text (Qwen 2.5/3, Hermes 2/3 Pro, SmolLM3).
 * - `mistral`: `[TOOL_CALLS][{"name": "f", "arguments": {…}}, …]`, or the newer
 *   `[TOOL_CALLS]f[ARGS]{…}` (Mistral, Mixtral, Ministral, Magistral, Devstral).
 * - `llama3`: the whole reply is `{"name": "f", "parameters": {…}}` (or `"arguments"`), optionally
 *   after `<|python_tag|>`, several separated by `;` (Llama 3.1, 3.2, 3.3).
 * - `phi4`: `<|tool_call|>{"name": "f", "arguments": {…}}<|/tool_call|>`, possibly several in a
 *   row, or several in one `<|tool_call|>[{…}, {…}]<|/tool_call|>`, after optional text
 *   (Phi-4-mini).
 * - `none`: no tool calls; everything is content.
 */
export type ToolCallFormat = 'hermes' | 'llama3' | 'mistral' | 'phi4' | 'none';

/** Mistral's two tool-call syntaxes: a JSON array, or `name[ARGS]{…}` (tokenizer v11 and later). */
export type MistralToolCallStyle = 'array' | 'args';

/**
 * The tool-call format a chat template teaches its model, `none` when it teaches none (or there is
 * no template). Checked in llama.cpp's order: `<tool_call>`, then `[TOOL_CALLS]`, then Phi-4-mini's
 * `<|tool_call|>` (which holds no `<tool_call>`), then Llama 3.1+.
 */
export function detectToolCallFormat(chatTemplate: string | undefined): ToolCallFormat {
  if (!chatTemplate) return 'none';
  if (chatTemplate.includes('<tool_call>')) return 'hermes';
  if (chatTemplate.includes('[TOOL_CALLS]')) return 'mistral';
  if (chatTemplate.includes('<|tool_call|>')) return 'phi4';
  if (isLlama3ToolTemplate(chatTemplate)) return 'llama3';
  return 'none';
}

/**
 * Which Mistral syntax a template writes calls in: `args` when it uses the `[ARGS]` token (tokenizer
 * v11 and later), else `array`. Only meaningful for templates detected as `mistral`.
 */
export function detectMistralToolCallStyle(chatTemplate: string | undefined): MistralToolCallStyle {
  return chatTemplate?.includes('[ARGS]') ? 'args' : 'array';
}

/**
 * Llama 3.1/3.2/3.3 templates: they name the `<|python_tag|>` token, render `ipython` turns, or ask
 * for `{"name": …, "parameters": …}` replies ("Given the following functions"). Llama 3.0's
 * template does none of these: it has no tool calls.
 */
function isLlama3ToolTemplate(template: string): boolean {
  return (
    template.includes('<|python_tag|>') ||
    template.includes('<|start_header_id|>ipython<|end_header_id|>') ||
    template.includes('Given the following functions') ||
    (template.includes('"parameters"') && template.includes('tool_calls'))
  );
}
