// The tags' shapes. That xgrammar compiles them and accepts exactly the right texts was checked
// with the engine's xgrammar outside these tests (@x/model does not depend on @x/engine); here,
// texts written by the tags' own begin/end strings must parse back to the calls.
import { describe, expect, it } from 'vitest';
import { parseToolCalls } from './parser.js';
import {
  type FunctionTool,
  namedToolStructuralTag,
  type StructuralTagFormat,
  type StructuralTagTag,
  toolCallStructuralTag,
} from './structural-tag.js';

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
};
const TOOLS: FunctionTool[] = [
  { type: 'function', function: { name: 'get_weather', parameters: WEATHER_SCHEMA } },
  { type: 'function', function: { name: 'now', description: 'The time' } },
];
const ANY_OBJECT = { type: 'json_schema', json_schema: { type: 'object' } };

describe('toolCallStructuralTag', () => {
  it('builds the hermes tag', () => {
    expect(toolCallStructuralTag('hermes', TOOLS, { mode: 'auto', parallel: true })).toEqual({
      type: 'structural_tag',
      format: {
        type: 'triggered_tags',
        triggers: ['<tool_call>'],
        tags: [
          {
            type: 'tag',
            begin: '<tool_call>\n{"name": "get_weather", "arguments": ',
            content: { type: 'json_schema', json_schema: WEATHER_SCHEMA },
            end: '}\n</tool_call>',
          },
          {
            type: 'tag',
            begin: '<tool_call>\n{"name": "now", "arguments": ',
            content: ANY_OBJECT,
            end: '}\n</tool_call>',
          },
        ],
        at_least_one: false,
        stop_after_first: false,
      },
    });
    const required = toolCallStructuralTag('hermes', TOOLS, { mode: 'required', parallel: false });
    expect(required.format).toMatchObject({ at_least_one: true, stop_after_first: true });
  });

  it('builds the mistral tag: one [TOOL_CALLS] array ends the reply', () => {
    const tag = toolCallStructuralTag('mistral', TOOLS, { mode: 'required', parallel: false });
    expect(tag.format).toEqual({
      type: 'triggered_tags',
      triggers: ['[TOOL_CALLS]'],
      tags: [
        {
          type: 'tag',
          begin: '[TOOL_CALLS][',
          content: {
            type: 'tags_with_separator',
            tags: [
              {
                type: 'tag',
                begin: '{"name": "get_weather", "arguments": ',
                content: { type: 'json_schema', json_schema: WEATHER_SCHEMA },
                end: '}',
              },
              {
                type: 'tag',
                begin: '{"name": "now", "arguments": ',
                content: ANY_OBJECT,
                end: '}',
              },
            ],
            separator: ', ',
            at_least_one: true,
            stop_after_first: true,
          },
          end: ']',
        },
      ],
      at_least_one: true,
      stop_after_first: true,
    });
  });

  it('builds the mistral [ARGS] tag', () => {
    const options = { mode: 'auto', parallel: true, mistralStyle: 'args' } as const;
    const tag = toolCallStructuralTag('mistral', TOOLS, options);
    expect(tag.format).toMatchObject({
      type: 'triggered_tags',
      triggers: ['[TOOL_CALLS]'],
      at_least_one: false,
      stop_after_first: false,
    });
    expect(tags(tag.format).map((t) => [t.begin, t.end])).toEqual([
      ['[TOOL_CALLS]get_weather[ARGS]', ''],
      ['[TOOL_CALLS]now[ARGS]', ''],
    ]);
  });

  it('builds the llama3 tags: triggered by {"name": in auto mode, calls only when required', () => {
    const auto = toolCallStructuralTag('llama3', TOOLS, { mode: 'auto', parallel: false });
    expect(auto.format).toMatchObject({
      type: 'triggered_tags',
      triggers: ['{"name": '],
      at_least_one: false,
      stop_after_first: true,
    });
    const required = toolCallStructuralTag('llama3', TOOLS, { mode: 'required', parallel: true });
    expect(required.format).toMatchObject({
      type: 'tags_with_separator',
      separator: '; ',
      at_least_one: true,
      stop_after_first: false,
    });
    expect(tags(required.format).map((t) => [t.begin, t.end])).toEqual([
      ['{"name": "get_weather", "parameters": ', '}'],
      ['{"name": "now", "parameters": ', '}'],
    ]);
  });

  it('builds the phi4 tag: <|tool_call|> triggers one call per tag', () => {
    const auto = toolCallStructuralTag('phi4', TOOLS, { mode: 'auto', parallel: true });
    expect(auto).toEqual({
      type: 'structural_tag',
      format: {
        type: 'triggered_tags',
        triggers: ['<|tool_call|>'],
        tags: [
          {
            type: 'tag',
            begin: '<|tool_call|>{"name": "get_weather", "arguments": ',
            content: { type: 'json_schema', json_schema: WEATHER_SCHEMA },
            end: '}<|/tool_call|>',
          },
          {
            type: 'tag',
            begin: '<|tool_call|>{"name": "now", "arguments": ',
            content: ANY_OBJECT,
            end: '}<|/tool_call|>',
          },
        ],
        at_least_one: false,
        stop_after_first: false,
      },
    });
    const required = toolCallStructuralTag('phi4', TOOLS, { mode: 'required', parallel: false });
    expect(required.format).toMatchObject({ at_least_one: true, stop_after_first: true });
  });

  it('escapes names as JSON', () => {
    const odd: FunctionTool = { type: 'function', function: { name: 'a"b\\c' } };
    const tag = toolCallStructuralTag('llama3', [odd], { mode: 'required', parallel: false });
    expect(tags(tag.format)[0]!.begin).toBe('{"name": "a\\"b\\\\c", "parameters": ');
  });

  it('refuses format none and an empty tool list', () => {
    const options = { mode: 'auto', parallel: true } as const;
    expect(() => toolCallStructuralTag('none', TOOLS, options)).toThrow(
      expect.objectContaining({ code: 'TOOL_CALL_NO_FORMAT' }),
    );
    expect(() => toolCallStructuralTag('hermes', [], options)).toThrow(
      expect.objectContaining({ code: 'TOOL_CALL_NO_TOOLS' }),
    );
    expect(() => namedToolStructuralTag('none', TOOLS[0]!)).toThrow(
      expect.objectContaining({ code: 'TOOL_CALL_NO_FORMAT' }),
    );
  });
});

describe('namedToolStructuralTag', () => {
  it('is exactly one call of the tool', () => {
    const weather = TOOLS[0]!;
    const content = { type: 'json_schema', json_schema: WEATHER_SCHEMA };
    expect(namedToolStructuralTag('hermes', weather).format).toEqual({
      type: 'tag',
      begin: '<tool_call>\n{"name": "get_weather", "arguments": ',
      content,
      end: '}\n</tool_call>',
    });
    expect(namedToolStructuralTag('mistral', weather).format).toEqual({
      type: 'tag',
      begin: '[TOOL_CALLS][{"name": "get_weather", "arguments": ',
      content,
      end: '}]',
    });
    expect(namedToolStructuralTag('mistral', weather, { mistralStyle: 'args' }).format).toEqual({
      type: 'tag',
      begin: '[TOOL_CALLS]get_weather[ARGS]',
      content,
      end: '',
    });
    expect(namedToolStructuralTag('llama3', weather).format).toEqual({
      type: 'tag',
      begin: '{"name": "get_weather", "parameters": ',
      content,
      end: '}',
    });
    expect(namedToolStructuralTag('phi4', weather).format).toEqual({
      type: 'tag',
      begin: '<|tool_call|>{"name": "get_weather", "arguments": ',
      content,
      end: '}<|/tool_call|>',
    });
  });
});

describe('what the tags describe parses back', () => {
  const ARGS = '{"city": "Paris"}';
  for (const [format, mistralStyle, separator] of [
    ['hermes', undefined, '\n'],
    ['mistral', 'args', ''],
    ['llama3', undefined, '; '],
    ['phi4', undefined, ''],
  ] as const) {
    it(`${format}${mistralStyle ? ` (${mistralStyle})` : ''}`, () => {
      const tag = toolCallStructuralTag(format, TOOLS, {
        mode: 'required',
        parallel: true,
        mistralStyle,
      });
      const text = tags(tag.format)
        .map((t) => `${t.begin}${ARGS}${t.end}`)
        .join(separator);
      const parsed = parseToolCalls(format, text);
      expect(parsed.content).toBe('');
      expect(parsed.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
        ['get_weather', ARGS],
        ['now', ARGS],
      ]);
    });
  }

  it('mistral (array)', () => {
    const tag = toolCallStructuralTag('mistral', TOOLS, { mode: 'required', parallel: true });
    const [array] = tags(tag.format);
    const calls = tags(array!.content).map((t) => `${t.begin}${ARGS}${t.end}`);
    const text = `${array!.begin}${calls.join(', ')}${array!.end}`;
    expect(parseToolCalls('mistral', text).toolCalls.map((c) => c.name)).toEqual([
      'get_weather',
      'now',
    ]);
  });

  it('each named tag', () => {
    for (const format of ['hermes', 'mistral', 'llama3', 'phi4'] as const) {
      const tag = namedToolStructuralTag(format, TOOLS[1]!).format as StructuralTagTag;
      const parsed = parseToolCalls(format, `${tag.begin}{}${tag.end}`);
      expect(parsed.toolCalls.map((c) => [c.name, c.arguments])).toEqual([['now', '{}']]);
    }
  });
});

/** The tags of a `triggered_tags` or `tags_with_separator` format. */
function tags(format: StructuralTagFormat): StructuralTagTag[] {
  if (format.type === 'triggered_tags' || format.type === 'tags_with_separator') return format.tags;
  throw new Error(`no tags in ${format.type}`);
}
