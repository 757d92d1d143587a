// Tool calling on /v1/chat/completions: OpenAI's `tools`, `tool_choice` and
// `parallel_tool_calls`, the model family's tool-call format (from its chat template), the
// constraint that holds calls to their functions' schemas, and OpenAI's `tool_calls` in replies
// and stream deltas.
import type { ChatTool, Constraint } from '@x/engine';
import {
  type ChatMessage,
  detectMistralToolCallStyle,
  detectToolCallFormat,
  type FunctionTool,
  namedToolStructuralTag,
  randomCallIdSuffix,
  ToolCallError,
  type ToolCallEvent,
  type ToolCallFormat,
  ToolCallParser,
  toolCallStructuralTag,
} from '@x/model';
import { z } from 'zod';
import { HttpError } from './openai.js';

const toolName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'function names are 1–64 letters, digits, _ or -');

export const toolsField = z
  .array(
    z.object({
      type: z.literal('function'),
      function: z.object({
        name: toolName,
        description: z.string().nullish(),
        parameters: z.record(z.string(), z.unknown()).nullish(),
        strict: z.boolean().nullish(),
      }),
    }),
  )
  .max(128)
  .nullish();

export const toolChoiceField = z
  .union([
    z.enum(['none', 'auto', 'required']),
    z.object({ type: z.literal('function'), function: z.object({ name: toolName }) }),
  ])
  .nullish();

export const toolCallField = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

type Tools = z.infer<typeof toolsField>;
type ToolChoice = z.infer<typeof toolChoiceField>;

/**
 * The format a reply's calls come in: a family's own, or `generic` for a template that has none
 * (Gemma, Phi-3, the demo model): the reply is one JSON object, `{"tool_calls": [{"name",
 * "arguments"}, …]}` (`{"tool_call": {…}}` without parallel calls) or `{"response": "…"}`, held
 * to that by a JSON Schema and described to the model in its first user message, as llama.cpp's
 * generic format does.
 */
export type ServerToolFormat = Exclude<ToolCallFormat, 'none'> | 'generic';

/** How one chat request uses tools: the format its model writes calls in, and the constraint. */
export interface ToolUse {
  format: ServerToolFormat;
  tools: ChatTool[];
  constraint: Constraint;
}

/**
 * The tool use a request asks for, or undefined (no tools, or `tool_choice: "none"`: the tools are
 * still listed in the prompt, and the reply is text).
 * @throws HttpError 400 naming `tool_choice` for a function not in `tools`, or without tools
 */
export function requestedToolUse(
  tools: Tools,
  choice: ToolChoice,
  parallel: boolean | null | undefined,
  chatTemplate: string,
): ToolUse | undefined {
  if (!tools || tools.length === 0) {
    if (choice && choice !== 'none' && choice !== 'auto') {
      throw new HttpError(
        400,
        'tool_choice: needs tools',
        'invalid_request_error',
        null,
        'tool_choice',
      );
    }
    return undefined;
  }
  const chatTools = tools.map(toChatTool);
  if (choice === 'none') return undefined;
  const format = detectToolCallFormat(chatTemplate);
  const named =
    typeof choice === 'object' && choice
      ? chatTools.find((t) => t.function.name === choice.function.name)
      : undefined;
  if (typeof choice === 'object' && choice && !named) {
    throw new HttpError(
      400,
      `tool_choice: no function named ${JSON.stringify(choice.function.name)} in tools`,
      'invalid_request_error',
      null,
      'tool_choice',
    );
  }
  if (format === 'none') {
    const schema = genericSchema(named ? [named] : chatTools, {
      required: choice === 'required' || named !== undefined,
      parallel: (parallel ?? true) && named === undefined,
    });
    return {
      format: 'generic',
      tools: chatTools,
      constraint: { type: 'json_schema', schema },
    };
  }
  const style = { mistralStyle: detectMistralToolCallStyle(chatTemplate) };
  const described = chatTools as FunctionTool[];
  let structuralTag: object;
  if (named) {
    structuralTag = namedToolStructuralTag(format, named as FunctionTool, style);
  } else {
    structuralTag = toolCallStructuralTag(format, described, {
      mode: choice === 'required' ? 'required' : 'auto',
      parallel: parallel ?? true,
      ...style,
    });
  }
  return {
    format,
    tools: chatTools,
    constraint: {
      type: 'structural_tag',
      structuralTag: structuralTag as { readonly [key: string]: unknown },
    },
  };
}

/** The request's tools as the chat template and the engine take them. */
export function toChatTools(tools: NonNullable<Tools>): ChatTool[] {
  return tools.map(toChatTool);
}

function toChatTool(tool: NonNullable<Tools>[number]): ChatTool {
  const { name, description, parameters } = tool.function;
  return {
    type: 'function',
    function: {
      name,
      ...(description != null ? { description } : {}),
      parameters: parameters ?? { type: 'object', properties: {} },
    },
  };
}

/**
 * An assistant message's `tool_calls` as chat templates read them: arguments as objects (the
 * API sends JSON text; Hugging Face templates write `arguments | tojson`), as vLLM passes them.
 * @throws HttpError 400 naming the message whose arguments are not a JSON object
 */
export function templateToolCalls(
  calls: ReadonlyArray<z.infer<typeof toolCallField>>,
  messageIndex: number,
): ChatMessage['tool_calls'] {
  return calls.map((call, i) => {
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments);
    } catch {
      args = undefined;
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      const param = `messages.${messageIndex}.tool_calls.${i}.function.arguments`;
      throw new HttpError(
        400,
        `${param}: must be a JSON object in text`,
        'invalid_request_error',
        null,
        param,
      );
    }
    return {
      id: call.id,
      type: 'function',
      function: { name: call.function.name, arguments: args },
    };
  });
}

/** OpenAI's `tool_calls` of one reply, gathered from parser events. */
export class ToolCallCollector {
  readonly calls: Array<{
    id: string;
    type: 'function';
    function: { name: string; arguments: string };
  }> = [];
  content = '';

  add(events: readonly ToolCallEvent[]): void {
    for (const e of events) {
      if (e.type === 'content') this.content += e.text;
      else if (e.type === 'tool_call_start') {
        this.calls[e.index] = {
          id: e.id,
          type: 'function',
          function: { name: e.name, arguments: '' },
        };
      } else if (e.type === 'tool_call_arguments') {
        const call = this.calls[e.index];
        if (call) call.function.arguments += e.delta;
      }
    }
  }
}

/** The stream deltas (`delta` objects of chat chunks) for parser events, content merged. */
export function toolDeltas(events: readonly ToolCallEvent[]): Array<Record<string, unknown>> {
  const deltas: Array<Record<string, unknown>> = [];
  for (const e of events) {
    if (e.type === 'content') {
      const last = deltas.at(-1);
      if (last && typeof last.content === 'string') last.content += e.text;
      else if (e.text !== '') deltas.push({ content: e.text });
    } else if (e.type === 'tool_call_start') {
      deltas.push({
        tool_calls: [
          { index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: '' } },
        ],
      });
    } else if (e.type === 'tool_call_arguments' && e.delta !== '') {
      deltas.push({ tool_calls: [{ index: e.index, function: { arguments: e.delta } }] });
    }
  }
  return deltas;
}

/** What a reply's text becomes: content and calls, as events. */
export interface EventParser {
  push(text: string): ToolCallEvent[];
  end(): ToolCallEvent[];
}

/**
 * The generic format's JSON Schema: calls of `tools` (each `{"name": const, "arguments":
 * parameters}`), and unless `required`, a `{"response": text}` instead.
 */
export function genericSchema(
  tools: readonly ChatTool[],
  { required, parallel }: { required: boolean; parallel: boolean },
): Record<string, unknown> {
  const call = {
    anyOf: tools.map((t) => ({
      type: 'object',
      properties: {
        name: { const: t.function.name },
        arguments: t.function.parameters ?? { type: 'object' },
      },
      required: ['name', 'arguments'],
      additionalProperties: false,
    })),
  };
  const calls = parallel
    ? {
        type: 'object',
        properties: { tool_calls: { type: 'array', items: call, minItems: 1 } },
        required: ['tool_calls'],
        additionalProperties: false,
      }
    : {
        type: 'object',
        properties: { tool_call: call },
        required: ['tool_call'],
        additionalProperties: false,
      };
  if (required) return calls;
  const response = {
    type: 'object',
    properties: { response: { type: 'string' } },
    required: ['response'],
    additionalProperties: false,
  };
  return { anyOf: [calls, response] };
}

/**
 * Messages for a template without tool calls: the tools and the reply format described in the
 * first user message (every template has one; some refuse a system role), past calls written as
 * the JSON the model would write, and tool results as user messages.
 */
export function genericMessages(
  messages: readonly ChatMessage[],
  tools: readonly ChatTool[],
  parallel: boolean,
): ChatMessage[] {
  const example = parallel
    ? '{"tool_calls": [{"name": "<function>", "arguments": {…}}]}'
    : '{"tool_call": {"name": "<function>", "arguments": {…}}}';
  const preamble =
    `You can call these functions:\n${JSON.stringify(tools.map((t) => t.function))}\n` +
    `Reply in JSON: ${example} to call functions, or {"response": "<your answer>"} to answer.\n\n`;
  let described = false;
  return messages.map((m) => {
    if (m.role === 'user' && !described) {
      described = true;
      return { ...m, content: preamble + m.content };
    }
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      const calls = (m.tool_calls as Array<{ function: { name: string; arguments: unknown } }>).map(
        (c) => ({ name: c.function.name, arguments: c.function.arguments }),
      );
      return { role: 'assistant', content: JSON.stringify({ tool_calls: calls }) };
    }
    if (m.role === 'tool') {
      const id = typeof m.tool_call_id === 'string' ? ` ${m.tool_call_id}` : '';
      return { role: 'user', content: `Result of call${id}: ${m.content}` };
    }
    return m;
  });
}

/** Reads a generic-format reply once it is whole (it is one JSON object). */
class GenericReplyParser implements EventParser {
  private text = '';

  push(text: string): ToolCallEvent[] {
    this.text += text;
    return [];
  }

  end(): ToolCallEvent[] {
    let value: unknown;
    try {
      value = JSON.parse(this.text);
    } catch {
      return this.text === '' ? [] : [{ type: 'content', text: this.text }];
    }
    const v = value as { tool_calls?: unknown; tool_call?: unknown; response?: unknown };
    const calls = Array.isArray(v.tool_calls) ? v.tool_calls : v.tool_call ? [v.tool_call] : [];
    if (calls.length === 0) {
      return [{ type: 'content', text: typeof v.response === 'string' ? v.response : this.text }];
    }
    return calls.flatMap((call, index) => {
      const c = call as { name?: unknown; arguments?: unknown };
      return [
        {
          type: 'tool_call_start',
          index,
          id: `call_${randomCallIdSuffix()}`,
          name: String(c.name),
        },
        { type: 'tool_call_arguments', index, delta: JSON.stringify(c.arguments ?? {}) },
        { type: 'tool_call_end', index },
      ] as ToolCallEvent[];
    });
  }
}

/** A family's call ids: Mistral's templates take 9 letters and digits, others OpenAI's `call_…`. */
export function toolCallParser(format: ServerToolFormat): EventParser {
  if (format === 'generic') return new GenericReplyParser();
  if (format !== 'mistral') return new ToolCallParser(format);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const random = () =>
    Array.from({ length: 9 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
  return new ToolCallParser(format, { idPrefix: '', random });
}

/**
 * The parser's last events: what it still held. A call cut short (the reply hit `max_tokens`
 * inside its arguments) stays as far as it got, as OpenAI returns truncated arguments with
 * finish reason `length`, rather than failing the reply.
 */
export function endEvents(parser: EventParser): ToolCallEvent[] {
  try {
    return parser.end();
  } catch (error) {
    if (error instanceof ToolCallError) return [];
    throw error;
  }
}
