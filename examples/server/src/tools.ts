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

/** How one chat request uses tools: the format its model writes calls in, and the constraint. */
export interface ToolUse {
  format: ToolCallFormat;
  tools: ChatTool[];
  constraint: Constraint;
}

/**
 * The tool use a request asks for, or undefined (no tools, or `tool_choice: "none"`: the tools are
 * still listed in the prompt, and the reply is text).
 * @throws HttpError 400 naming `tool_choice` for a function not in `tools`, or `tools` when the
 *   model's chat template has no tool-call format this server can read
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
  if (format === 'none') {
    throw new HttpError(
      400,
      "tools: this model's chat template writes no tool-call format this server reads " +
        '(Hermes/Qwen <tool_call>, Llama 3 JSON, Mistral [TOOL_CALLS], Phi-4-mini <|tool_call|>); ' +
        'set a chat template ' +
        'that does with --chat-template',
      'invalid_request_error',
      null,
      'tools',
    );
  }
  const style = { mistralStyle: detectMistralToolCallStyle(chatTemplate) };
  const described = chatTools as FunctionTool[];
  let structuralTag: object;
  if (typeof choice === 'object' && choice) {
    const tool = chatTools.find((t) => t.function.name === choice.function.name);
    if (!tool) {
      throw new HttpError(
        400,
        `tool_choice: no function named ${JSON.stringify(choice.function.name)} in tools`,
        'invalid_request_error',
        null,
        'tool_choice',
      );
    }
    structuralTag = namedToolStructuralTag(format, tool as FunctionTool, style);
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

/** A family's call ids: Mistral's templates take 9 letters and digits, others OpenAI's `call_…`. */
export function toolCallParser(format: ToolCallFormat): ToolCallParser {
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
export function endEvents(parser: ToolCallParser): ToolCallEvent[] {
  try {
    return parser.end();
  } catch (error) {
    if (error instanceof ToolCallError) return [];
    throw error;
  }
}
