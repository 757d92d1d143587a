import { describe, expect, it } from 'vitest';
import { isBatchRequest, parseBatchLine } from './batch-jsonl.js';

const SCHEMA = { type: 'object', properties: { a: { type: 'integer' } } };

describe('parseBatchLine: constraints', () => {
  it.each([
    [{ response_format: { type: 'json_object' } }, { type: 'json_object' }, 'response_format'],
    [
      {
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'a', description: 'an a', schema: SCHEMA, strict: true },
        },
      },
      { type: 'json_schema', schema: SCHEMA },
      'response_format.json_schema.schema',
    ],
    // llama.cpp's server takes the schema beside the type.
    [
      { response_format: { type: 'json_object', schema: SCHEMA } },
      { type: 'json_schema', schema: SCHEMA },
      'response_format.schema',
    ],
    [
      { response_format: { type: 'json_schema', schema: SCHEMA } },
      { type: 'json_schema', schema: SCHEMA },
      'response_format.schema',
    ],
    [{ json_schema: SCHEMA }, { type: 'json_schema', schema: SCHEMA }, 'json_schema'],
    [{ json_schema: true }, { type: 'json_schema', schema: true }, 'json_schema'],
    [{ grammar: 'root ::= "a"' }, { type: 'grammar', grammar: 'root ::= "a"' }, 'grammar'],
    [{ regex: '[a-z]+' }, { type: 'regex', pattern: '[a-z]+' }, 'regex'],
    [{ choice: ['a', 'b'] }, { type: 'choice', choices: ['a', 'b'] }, 'choice'],
    // {"type": "text"} and null fields ask for nothing, so they go with another field.
    [
      { response_format: { type: 'text' }, grammar: null, regex: 'a' },
      { type: 'regex', pattern: 'a' },
      'regex',
    ],
  ])('reads %j', (fields, constraint, source) => {
    const parsed = parseBatchLine(JSON.stringify({ id: 'q', prompt: 'x', ...fields }), 4);
    expect(parsed).toEqual({
      line: 4,
      id: 'q',
      prompt: 'x',
      messages: undefined,
      params: {},
      constraint: { constraint, source },
    });
  });

  it('leaves the constraint undefined when a line asks for none', () => {
    for (const fields of [{}, { response_format: { type: 'text' } }, { json_schema: null }]) {
      const parsed = parseBatchLine(JSON.stringify({ prompt: 'x', ...fields }), 1);
      expect(isBatchRequest(parsed) && parsed.constraint).toBeUndefined();
    }
  });

  it.each([
    [
      { grammar: 'root ::= "a"', regex: 'a' },
      'give at most one of response_format, json_schema, grammar, regex and choice, got grammar and regex',
    ],
    [
      { response_format: { type: 'json_object' }, json_schema: SCHEMA, choice: ['a'] },
      'give at most one of response_format, json_schema, grammar, regex and choice, got response_format, json_schema and choice',
    ],
    [
      { response_format: { type: 'yaml' } },
      /^response_format\.type: .*'text' \| 'json_object' \| 'json_schema'/,
    ],
    [{ response_format: 'json' }, /^response_format: .*expected object/],
    [{ response_format: { type: 'json_object', shema: {} } }, /^response_format: .*"shema"/],
    [
      { response_format: { type: 'json_schema', json_schema: { name: 'a' } } },
      'response_format: type json_schema needs json_schema.schema',
    ],
    [
      { response_format: { type: 'json_schema', json_schema: { schema: SCHEMA }, schema: SCHEMA } },
      'response_format: give json_schema.schema or schema, not both',
    ],
    [
      { response_format: { type: 'json_schema', json_schema: { name: 'a', schema: [] } } },
      'response_format.json_schema.schema: expected a JSON Schema: an object, or true or false',
    ],
    [
      {
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'a', schema: { type: 'array', uniqueItems: true } },
        },
      },
      'response_format.json_schema.schema: the grammar engine does not enforce uniqueItems (at #/uniqueItems); leave it out or check it after generation',
    ],
    [{ json_schema: 'a' }, 'json_schema: expected a JSON Schema: an object, or true or false'],
    [{ grammar: 5 }, /^grammar: .*expected string/],
    [{ grammar: '' }, 'grammar: grammar must be a non-empty string, got ""'],
    [{ regex: '' }, 'regex: pattern must be a non-empty string, got ""'],
    [{ choice: 'a' }, /^choice: .*expected array/],
    [{ choice: [] }, 'choice: choices must be a non-empty array of strings, got an array'],
    [{ choice: ['a', 1] }, /^choice\.1: .*expected string/],
  ])('gives the line an error for %j', (fields, message) => {
    const parsed = parseBatchLine(JSON.stringify({ id: 7, prompt: 'x', ...fields }), 2);
    expect(parsed).toEqual({ id: 7, line: 2, error: expect.any(String) });
    const { error } = parsed as { error: string };
    if (typeof message === 'string') expect(error).toBe(message);
    else expect(error).toMatch(message);
  });
});
