// xgrammar structural tags that hold a model to its family's tool-call syntax, with each call's
// arguments held to the tool's JSON Schema. Plain data in xgrammar's structural tag format
// (`{type: 'structural_tag', format}`), for whatever compiles grammars; nothing here imports
// xgrammar.
import { ToolCallError } from './errors.js';
import type { MistralToolCallStyle, ToolCallFormat } from './format.js';

/** An OpenAI chat-completion tool (`tools[]` of a request). */
export interface FunctionTool {
  type: 'function';
  function: {
    name: string;
    description?: string;
    /** The arguments' JSON Schema; absent means any object. */
    parameters?: Record<string, unknown>;
  };
}

/** xgrammar's structural tag formats that these tags use. */
export type StructuralTagFormat =
  | { type: 'const_string'; value: string }
  | { type: 'json_schema'; json_schema: Record<string, unknown> | boolean }
  | { type: 'any_text' }
  | { type: 'sequence'; elements: StructuralTagFormat[] }
  | { type: 'or'; elements: StructuralTagFormat[] }
  | StructuralTagTag
  | {
      type: 'triggered_tags';
      triggers: string[];
      tags: StructuralTagTag[];
      at_least_one?: boolean;
      stop_after_first?: boolean;
    }
  | {
      type: 'tags_with_separator';
      tags: StructuralTagTag[];
      separator: string;
      at_least_one?: boolean;
      stop_after_first?: boolean;
    };

/** `begin`, then text in the `content` format, then `end`. */
export interface StructuralTagTag {
  type: 'tag';
  begin: string;
  content: StructuralTagFormat;
  end: string;
}

/** A structural tag, as xgrammar's `Grammar.fromStructuralTag` takes it (JSON-serialized). */
export interface StructuralTag {
  type: 'structural_tag';
  format: StructuralTagFormat;
}

/** Options of {@link toolCallStructuralTag}. */
export interface ToolCallStructuralTagOptions {
  /** `auto`: text, calls, or both, where the format allows; `required`: at least one call. */
  mode: 'auto' | 'required';
  /** Whether a reply may hold more than one call. */
  parallel: boolean;
  /** Which Mistral syntax to hold the model to (see `detectMistralToolCallStyle`). Default `array`. */
  mistralStyle?: MistralToolCallStyle;
}

/** The call's parts around its arguments: `begin` + arguments + `end`. */
interface CallFrame {
  begin: string;
  end: string;
}

/**
 * The structural tag for `tool_choice` `auto` or `required` with `tools`: calls in the format's
 * syntax, each to one of `tools` with arguments matching its `parameters`.
 * - hermes: free text in `auto` mode, `<tool_call>` triggers a call; `required` starts with one.
 * - mistral: free text in `auto` mode, then one `[TOOL_CALLS]` block that ends the reply
 *   (`[{…}, {…}]`, or `f[ARGS]{…}` calls with `mistralStyle: 'args'`).
 * - llama3: `auto` lets `{"name": ` trigger a call in free text; `required` is calls only,
 *   separated by `; `.
 * - phi4: free text in `auto` mode, `<|tool_call|>` triggers a call (one object per tag, as the
 *   template writes calls); `required` starts with one.
 * @throws ToolCallError for format `none` (TOOL_CALL_NO_FORMAT) or no tools (TOOL_CALL_NO_TOOLS)
 */
export function toolCallStructuralTag(
  format: ToolCallFormat,
  tools: readonly FunctionTool[],
  options: ToolCallStructuralTagOptions,
): StructuralTag {
  if (tools.length === 0) {
    throw new ToolCallError('a tool-call structural tag needs tools', 'TOOL_CALL_NO_TOOLS');
  }
  const required = options.mode === 'required';
  switch (format) {
    case 'hermes':
      return structuralTag({
        type: 'triggered_tags',
        triggers: ['<tool_call>'],
        tags: tools.map((tool) => callTag(tool, hermesFrame(tool.function.name))),
        at_least_one: required,
        stop_after_first: !options.parallel,
      });
    case 'phi4':
      return structuralTag({
        type: 'triggered_tags',
        triggers: ['<|tool_call|>'],
        tags: tools.map((tool) => callTag(tool, phi4Frame(tool.function.name))),
        at_least_one: required,
        stop_after_first: !options.parallel,
      });
    case 'mistral':
      return structuralTag(mistralCalls(tools, required, options));
    case 'llama3':
      return structuralTag(llama3Calls(tools, required, options.parallel));
    case 'none':
      throw noFormat();
  }
}

/**
 * The structural tag for `tool_choice: {type: 'function', function: {name}}`: exactly one call, to
 * `tool`, and nothing else.
 * @throws ToolCallError for format `none` (TOOL_CALL_NO_FORMAT)
 */
export function namedToolStructuralTag(
  format: ToolCallFormat,
  tool: FunctionTool,
  options: { mistralStyle?: MistralToolCallStyle } = {},
): StructuralTag {
  const name = tool.function.name;
  switch (format) {
    case 'hermes':
      return structuralTag(callTag(tool, hermesFrame(name)));
    case 'mistral': {
      if (options.mistralStyle === 'args')
        return structuralTag(callTag(tool, mistralArgsFrame(name)));
      const frame = jsonFrame(name, 'arguments');
      return structuralTag(callTag(tool, { begin: `[TOOL_CALLS][${frame.begin}`, end: '}]' }));
    }
    case 'llama3':
      return structuralTag(callTag(tool, jsonFrame(name, 'parameters')));
    case 'phi4':
      return structuralTag(callTag(tool, phi4Frame(name)));
    case 'none':
      throw noFormat();
  }
}

function structuralTag(format: StructuralTagFormat): StructuralTag {
  return { type: 'structural_tag', format };
}

function noFormat(): ToolCallError {
  return new ToolCallError('format none has no tool-call syntax', 'TOOL_CALL_NO_FORMAT');
}

/** One call to `tool`: the frame around arguments held to its schema. */
function callTag(tool: FunctionTool, frame: CallFrame): StructuralTagTag {
  return {
    type: 'tag',
    begin: frame.begin,
    content: { type: 'json_schema', json_schema: tool.function.parameters ?? { type: 'object' } },
    end: frame.end,
  };
}

/** `{"name": "f", "<key>": ` … `}`, as the templates write calls (`, ` and `: ` spacing). */
function jsonFrame(name: string, key: 'arguments' | 'parameters'): CallFrame {
  return { begin: `{"name": ${JSON.stringify(name)}, "${key}": `, end: '}' };
}

function hermesFrame(name: string): CallFrame {
  const frame = jsonFrame(name, 'arguments');
  return { begin: `<tool_call>\n${frame.begin}`, end: `${frame.end}\n</tool_call>` };
}

function phi4Frame(name: string): CallFrame {
  const frame = jsonFrame(name, 'arguments');
  return { begin: `<|tool_call|>${frame.begin}`, end: `${frame.end}<|/tool_call|>` };
}

function mistralArgsFrame(name: string): CallFrame {
  return { begin: `[TOOL_CALLS]${name}[ARGS]`, end: '' };
}

/** Mistral: one `[TOOL_CALLS]` block ends the reply; in `args` style each call has the marker. */
function mistralCalls(
  tools: readonly FunctionTool[],
  required: boolean,
  options: ToolCallStructuralTagOptions,
): StructuralTagFormat {
  if (options.mistralStyle === 'args') {
    return {
      type: 'triggered_tags',
      triggers: ['[TOOL_CALLS]'],
      tags: tools.map((tool) => callTag(tool, mistralArgsFrame(tool.function.name))),
      at_least_one: required,
      stop_after_first: !options.parallel,
    };
  }
  const array: StructuralTagTag = {
    type: 'tag',
    begin: '[TOOL_CALLS][',
    content: {
      type: 'tags_with_separator',
      tags: tools.map((tool) => callTag(tool, jsonFrame(tool.function.name, 'arguments'))),
      separator: ', ',
      at_least_one: true,
      stop_after_first: !options.parallel,
    },
    end: ']',
  };
  return {
    type: 'triggered_tags',
    triggers: ['[TOOL_CALLS]'],
    tags: [array],
    at_least_one: required,
    stop_after_first: true,
  };
}

/** Llama 3: the reply is calls only in `required` mode; in `auto` mode `{"name": ` starts one. */
function llama3Calls(
  tools: readonly FunctionTool[],
  required: boolean,
  parallel: boolean,
): StructuralTagFormat {
  const tags = tools.map((tool) => callTag(tool, jsonFrame(tool.function.name, 'parameters')));
  if (required) {
    return {
      type: 'tags_with_separator',
      tags,
      separator: '; ',
      at_least_one: true,
      stop_after_first: !parallel,
    };
  }
  return {
    type: 'triggered_tags',
    triggers: ['{"name": '],
    tags,
    at_least_one: false,
    stop_after_first: !parallel,
  };
}
