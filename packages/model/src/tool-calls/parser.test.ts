import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ToolCallError } from './errors.js';
import type { ToolCallFormat } from './format.js';
import { parseToolCalls, randomCallIdSuffix, ToolCallParser } from './parser.js';
import { countingIds, feed, type Parsed, splitAt } from './test-helpers.js';

const id = (n: number) => `call_${String(n).padStart(24, '0')}`;
const call = (n: number, name: string, args: string) => ({ id: id(n), name, arguments: args });

const WEATHER = '{"city": "Paris"}';
/** Nested objects and arrays, braces and escaped quotes inside strings, escapes, unicode. */
const TRICKY =
  '{"q": "a } b { c \\" d \\\\", "nested": {"list": [1, -2.5e3, {"x": null}], "t": true}, "u": "\\u00e9t\\u00e9 ☀️ 東京 😀", "empty": {}}';

interface Case {
  name: string;
  format: ToolCallFormat;
  text: string;
  expected: Parsed;
}

const CASES: Case[] = [
  {
    name: 'hermes: one call',
    format: 'hermes',
    text: `<tool_call>\n{"name": "get_weather", "arguments": ${WEATHER}}\n</tool_call>`,
    expected: { content: '', toolCalls: [call(0, 'get_weather', WEATHER)] },
  },
  {
    name: 'hermes: content, then parallel calls',
    format: 'hermes',
    text: `Let me check.\n\n<tool_call>\n{"name": "get_weather", "arguments": ${WEATHER}}\n</tool_call>\n<tool_call>\n{"name": "search", "arguments": ${TRICKY}}\n</tool_call>`,
    expected: {
      content: 'Let me check.\n\n',
      toolCalls: [call(0, 'get_weather', WEATHER), call(1, 'search', TRICKY)],
    },
  },
  {
    name: 'hermes: text after a call',
    format: 'hermes',
    text: `<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\n\nDone.`,
    expected: { content: '\n\nDone.', toolCalls: [call(0, 'f', '{}')] },
  },
  {
    name: 'hermes: false starts come back as content',
    format: 'hermes',
    text: 'a <tool b <tool_cal c </tool_call> <tool_call',
    expected: { content: 'a <tool b <tool_cal c </tool_call> <tool_call', toolCalls: [] },
  },
  {
    name: 'hermes: a marker with no call after it is content',
    format: 'hermes',
    text: 'Use <tool_call> tags. <tool_call>{"name": "f", "arguments": {"a": [1]}}</tool_call>',
    expected: { content: 'Use <tool_call> tags. ', toolCalls: [call(0, 'f', '{"a": [1]}')] },
  },
  {
    name: 'hermes: arguments before the name, and as a JSON string',
    format: 'hermes',
    text: '<tool_call>{"arguments": {"a": 1}, "name": "f"}</tool_call><tool_call>{"name": "g", "arguments": "{\\"b\\": \\"}\\"}"}</tool_call>',
    expected: { content: '', toolCalls: [call(0, 'f', '{"a": 1}'), call(1, 'g', '{"b": "}"}')] },
  },
  {
    name: 'hermes: no closing tag at the end',
    format: 'hermes',
    text: '<tool_call>\n{"name": "f", "arguments": {"a": "b"}}\n',
    expected: { content: '', toolCalls: [call(0, 'f', '{"a": "b"}')] },
  },
  {
    name: 'hermes: unicode names and content',
    format: 'hermes',
    text: '天気を調べます 😀<tool_call>{"name": "天気", "arguments": {"都市": "東京"}}</tool_call>',
    expected: {
      content: '天気を調べます 😀',
      toolCalls: [call(0, '天気', '{"都市": "東京"}')],
    },
  },
  {
    name: 'mistral: content, then an array of calls',
    format: 'mistral',
    text: `Sure.[TOOL_CALLS][{"name": "get_weather", "arguments": ${WEATHER}}, {"name": "search", "arguments": ${TRICKY}}]`,
    expected: {
      content: 'Sure.',
      toolCalls: [call(0, 'get_weather', WEATHER), call(1, 'search', TRICKY)],
    },
  },
  {
    name: 'mistral: as its templates write calls (space, ids)',
    format: 'mistral',
    text: `[TOOL_CALLS] [{"name": "get_weather", "arguments": ${WEATHER}, "id": "abcDEF123"}]`,
    expected: { content: '', toolCalls: [call(0, 'get_weather', WEATHER)] },
  },
  {
    name: 'mistral: name[ARGS] calls',
    format: 'mistral',
    text: `I'll look.[TOOL_CALLS]get_weather[ARGS]${WEATHER}[TOOL_CALLS]search[CALL_ID]a1b2c3d4e[ARGS]${TRICKY}`,
    expected: {
      content: "I'll look.",
      toolCalls: [call(0, 'get_weather', WEATHER), call(1, 'search', TRICKY)],
    },
  },
  {
    name: 'mistral: a false start',
    format: 'mistral',
    text: 'See [TOOL_ and [TOOL_CALL] and [TOOLS].',
    expected: { content: 'See [TOOL_ and [TOOL_CALL] and [TOOLS].', toolCalls: [] },
  },
  {
    name: 'llama3: one call',
    format: 'llama3',
    text: `{"name": "get_weather", "parameters": ${WEATHER}}`,
    expected: { content: '', toolCalls: [call(0, 'get_weather', WEATHER)] },
  },
  {
    name: 'llama3: python tag, arguments key, parallel calls',
    format: 'llama3',
    text: ` <|python_tag|>{"name": "get_weather", "arguments": ${WEATHER}}; {"name": "search", "parameters": ${TRICKY}}`,
    expected: {
      content: '',
      toolCalls: [call(0, 'get_weather', WEATHER), call(1, 'search', TRICKY)],
    },
  },
  {
    name: 'llama3: a reply that does not start with a call is content',
    format: 'llama3',
    text: `It is sunny. {"name": "get_weather", "parameters": ${WEATHER}}`,
    expected: {
      content: `It is sunny. {"name": "get_weather", "parameters": ${WEATHER}}`,
      toolCalls: [],
    },
  },
  {
    name: 'llama3: JSON that is not a call is content',
    format: 'llama3',
    text: '  {"temperature": 21, "unit": "C"}',
    expected: { content: '  {"temperature": 21, "unit": "C"}', toolCalls: [] },
  },
  {
    name: 'llama3: a name without parameters is content',
    format: 'llama3',
    text: '{"name": "Ada", "age": 36}',
    expected: { content: '{"name": "Ada", "age": 36}', toolCalls: [] },
  },
  {
    name: 'phi4: one call, as its template writes it',
    format: 'phi4',
    text: `<|tool_call|>{"name": "get_weather", "arguments": ${WEATHER}}<|/tool_call|>`,
    expected: { content: '', toolCalls: [call(0, 'get_weather', WEATHER)] },
  },
  {
    name: 'phi4: content, then parallel calls, one per tag',
    format: 'phi4',
    text: `Let me check.\n<|tool_call|>{"name": "get_weather", "arguments": ${WEATHER}}<|/tool_call|>\n<|tool_call|> {"name": "search", "arguments": ${TRICKY}} <|/tool_call|>`,
    expected: {
      content: 'Let me check.\n',
      toolCalls: [call(0, 'get_weather', WEATHER), call(1, 'search', TRICKY)],
    },
  },
  {
    name: 'phi4: parallel calls in one array',
    format: 'phi4',
    text: `<|tool_call|>[{"name": "get_weather", "arguments": ${WEATHER}}, {"name": "search", "arguments": ${TRICKY}}]<|/tool_call|>\n\nDone.`,
    expected: {
      content: '\n\nDone.',
      toolCalls: [call(0, 'get_weather', WEATHER), call(1, 'search', TRICKY)],
    },
  },
  {
    name: 'phi4: false starts come back as content',
    format: 'phi4',
    text: 'a <|tool b <|tool_call| c <|/tool_call|> <|tool|> [x] <|tool_call|>no <|tool_call|>[1] <|tool_call',
    expected: {
      content:
        'a <|tool b <|tool_call| c <|/tool_call|> <|tool|> [x] <|tool_call|>no <|tool_call|>[1] <|tool_call',
      toolCalls: [],
    },
  },
  {
    name: 'phi4: no closing tag at the end',
    format: 'phi4',
    text: '<|tool_call|>{"name": "f", "arguments": {"a": "b"}}',
    expected: { content: '', toolCalls: [call(0, 'f', '{"a": "b"}')] },
  },
  {
    name: 'none: everything is content',
    format: 'none',
    text: `<tool_call>{"name": "f", "arguments": {}}</tool_call>[TOOL_CALLS][]{"name": "f", "parameters": {}}`,
    expected: {
      content: `<tool_call>{"name": "f", "arguments": {}}</tool_call>[TOOL_CALLS][]{"name": "f", "parameters": {}}`,
      toolCalls: [],
    },
  },
];

describe('ToolCallParser', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it('parses the whole text', () => {
        expect(feed(c.format, [c.text])).toEqual(c.expected);
      });

      it('parses it fed one character at a time', () => {
        expect(feed(c.format, [...c.text])).toEqual(c.expected);
        expect(feed(c.format, c.text.split(''))).toEqual(c.expected);
      });

      it('parses it split at every boundary', () => {
        for (let at = 1; at < c.text.length; at++) {
          expect(feed(c.format, splitAt(c.text, [at]))).toEqual(c.expected);
        }
      });

      it('parses it in random chunks', () => {
        const cuts = fc.array(fc.integer({ min: 1, max: c.text.length - 1 }), { maxLength: 12 });
        fc.assert(
          fc.property(cuts, (points) => {
            expect(feed(c.format, splitAt(c.text, points))).toEqual(c.expected);
          }),
          { numRuns: 150 },
        );
      });
    });
  }
});

describe('what the parser holds back', () => {
  it('holds a possible marker, and no more', () => {
    const parser = new ToolCallParser('hermes');
    expect(parser.push('Hello <tool')).toEqual([{ type: 'content', text: 'Hello ' }]);
    expect(parser.push('s')).toEqual([{ type: 'content', text: '<tools' }]);
    expect(parser.push('> and [TOOL_CALLS]')).toEqual([
      { type: 'content', text: '> and [TOOL_CALLS]' },
    ]);
    expect(parser.push('<')).toEqual([]);
    expect(parser.end()).toEqual([{ type: 'content', text: '<' }]);
  });

  it('announces a call once its name is known and streams its arguments', () => {
    const parser = new ToolCallParser('hermes', { random: () => 'R'.repeat(24) });
    expect(parser.push('<tool_call>\n{"name": "get_wea')).toEqual([]);
    expect(parser.push('ther", "arguments": {"ci')).toEqual([
      { type: 'tool_call_start', index: 0, id: `call_${'R'.repeat(24)}`, name: 'get_weather' },
      { type: 'tool_call_arguments', index: 0, delta: '{"ci' },
    ]);
    expect(parser.push('ty": "Paris"}}\n</tool')).toEqual([
      { type: 'tool_call_arguments', index: 0, delta: 'ty": "Paris"}' },
      { type: 'tool_call_end', index: 0 },
    ]);
    expect(parser.push('_call>\n')).toEqual([]);
    expect(parser.end()).toEqual([]);
  });

  it('holds the arguments until the name when they come first', () => {
    const parser = new ToolCallParser('hermes', { random: () => 'R'.repeat(24) });
    expect(parser.push('<tool_call>{"arguments": {"a": 1}, ')).toEqual([]);
    expect(parser.push('"name": "f"}')).toEqual([
      { type: 'tool_call_start', index: 0, id: `call_${'R'.repeat(24)}`, name: 'f' },
      { type: 'tool_call_arguments', index: 0, delta: '{"a": 1}' },
      { type: 'tool_call_end', index: 0 },
    ]);
  });

  it('holds a Llama 3 reply only while it may still be a call', () => {
    const parser = new ToolCallParser('llama3');
    expect(parser.push(' <|python')).toEqual([]);
    expect(parser.push('_tag|> {"name": "f", ')).toEqual([]);
    expect(parser.push('"size": 3')).toEqual([
      { type: 'content', text: ' <|python_tag|> {"name": "f", "size": 3' },
    ]);
    expect(parser.push('}')).toEqual([{ type: 'content', text: '}' }]);

    const text = new ToolCallParser('llama3');
    expect(text.push('  ')).toEqual([]);
    expect(text.push('Hi')).toEqual([{ type: 'content', text: '  Hi' }]);
    expect(text.push(' {"name"')).toEqual([{ type: 'content', text: ' {"name"' }]);
  });

  it('holds a possible <|tool_call|>, and the closing tag after a call', () => {
    const parser = new ToolCallParser('phi4', { random: () => 'R'.repeat(24) });
    expect(parser.push('Hi <|tool')).toEqual([{ type: 'content', text: 'Hi ' }]);
    expect(parser.push('|>')).toEqual([{ type: 'content', text: '<|tool|>' }]);
    expect(parser.push('<|tool_call|>{"name": "f", "arguments": {}}<|/tool')).toEqual([
      { type: 'tool_call_start', index: 0, id: `call_${'R'.repeat(24)}`, name: 'f' },
      { type: 'tool_call_arguments', index: 0, delta: '{}' },
      { type: 'tool_call_end', index: 0 },
    ]);
    expect(parser.push('_call|>')).toEqual([]);
    expect(parser.push('ok')).toEqual([{ type: 'content', text: 'ok' }]);
    expect(parser.end()).toEqual([]);
  });

  it('gives back whitespace after a call only when text follows', () => {
    const parser = new ToolCallParser('mistral');
    parser.push('[TOOL_CALLS][{"name": "f", "arguments": {}}]');
    expect(parser.push('\n ')).toEqual([]);
    expect(parser.push('ok')).toEqual([{ type: 'content', text: '\n ok' }]);
  });
});

describe('malformed calls', () => {
  it('returns a call that breaks before it is announced as content', () => {
    const text = 'x<tool_call>\n{"name": "f", "argumants": {"a": 1}}\n</tool_call>y';
    expect(feed('hermes', [text])).toEqual({ content: text, toolCalls: [] });
    const bad = '<tool_call>{"name": 3, "arguments": {}}</tool_call>';
    expect(feed('hermes', [bad])).toEqual({ content: bad, toolCalls: [] });
    const mistral = '[TOOL_CALLS][{"name": "f" "arguments": {}}]';
    expect(feed('mistral', [mistral])).toEqual({ content: mistral, toolCalls: [] });
  });

  it('returns an unfinished call that was not announced as content', () => {
    for (const [format, text] of [
      ['hermes', 'Hi <tool_call>\n{"name": "get_we'],
      ['mistral', '[TOOL_CALLS][{"name": "f", '],
      ['mistral', '[TOOL_CALLS]get_weather[AR'],
      ['phi4', 'Hi <|tool_call|>[{"name": "get_we'],
      ['llama3', '{"name": "f"'],
    ] as const) {
      expect(feed(format, [text])).toEqual({ content: text, toolCalls: [] });
    }
  });

  it('rejects a second call and keeps the first', () => {
    const text = '<tool_call>{"name": "f", "arguments": {}}</tool_call>\n<tool_call>{"oops"}';
    expect(feed('hermes', [...text])).toEqual({
      content: '\n<tool_call>{"oops"}',
      toolCalls: [call(0, 'f', '{}')],
    });
  });

  it('throws TOOL_CALL_MALFORMED from end() when announced arguments are not JSON', () => {
    const parser = new ToolCallParser('hermes');
    const events = parser.push('<tool_call>{"name": "f", "arguments": {"a": tru');
    expect(events.map((e) => e.type)).toEqual(['tool_call_start', 'tool_call_arguments']);
    expect(parser.error).toBeUndefined();
    expect(parser.push('e, "b": nul}}</tool_call> and more')).toEqual([
      { type: 'tool_call_arguments', index: 0, delta: 'e, "b": nul' },
    ]);
    expect(parser.error?.code).toBe('TOOL_CALL_MALFORMED');
    expect(parser.push('ignored')).toEqual([]);
    const error = catchError(() => parser.end());
    expect(error).toBeInstanceOf(ToolCallError);
    expect(error).toMatchObject({ code: 'TOOL_CALL_MALFORMED', index: 0 });
  });

  it('throws TOOL_CALL_UNFINISHED from end() when the output stops inside arguments', () => {
    for (const [format, text] of [
      ['hermes', '<tool_call>{"name": "f", "arguments": {"a": "b'],
      ['mistral', '[TOOL_CALLS]f[ARGS]{"a": [1, '],
      ['phi4', '<|tool_call|>{"name": "f", "arguments": {"a": "b'],
      ['llama3', '{"name": "f", "parameters": {"a": {}'],
    ] as const) {
      const parsed = feed(format, [text]);
      expect(parsed.error).toBe('TOOL_CALL_UNFINISHED');
      expect(parsed.toolCalls.map((c) => c.name)).toEqual(['f']);
    }
  });

  it('refuses push after end', () => {
    const parser = new ToolCallParser('none');
    parser.end();
    expect(catchError(() => parser.push('x'))).toMatchObject({ code: 'TOOL_CALL_PARSER_ENDED' });
  });
});

describe('parseToolCalls', () => {
  it('returns content and calls', () => {
    const text = `Checking.<tool_call>\n{"name": "get_weather", "arguments": ${WEATHER}}\n</tool_call>`;
    expect(parseToolCalls('hermes', text, { random: countingIds() })).toEqual({
      content: 'Checking.',
      toolCalls: [call(0, 'get_weather', WEATHER)],
    });
  });

  it('returns the whole text as content when any call is malformed, as vLLM does', () => {
    for (const [format, text] of [
      ['hermes', `<tool_call>{"name": "f", "arguments": {}}</tool_call><tool_call>{"name": f}`],
      ['hermes', '<tool_call>{"name": "f", "arguments": {"a": 1,}}</tool_call>'],
      ['mistral', '[TOOL_CALLS]f[ARGS]{"a": 1'],
      ['phi4', '<|tool_call|>[{"name": "f", "arguments": {}}, {"name": 3}]<|/tool_call|>'],
      ['llama3', '{"name": "f", "parameters": {}}; {"nam": "g"}'],
    ] as const) {
      expect(parseToolCalls(format, text)).toEqual({ content: text, toolCalls: [] });
    }
  });

  it('makes OpenAI call ids', () => {
    const { toolCalls } = parseToolCalls('llama3', '{"name": "f", "parameters": {}}');
    expect(toolCalls[0]!.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(randomCallIdSuffix()).not.toBe(randomCallIdSuffix());
    const custom = parseToolCalls('llama3', '{"name": "f", "parameters": {}}', {
      idPrefix: 'chatcmpl-tool-',
      random: () => 'abc',
    });
    expect(custom.toolCalls[0]!.id).toBe('chatcmpl-tool-abc');
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
