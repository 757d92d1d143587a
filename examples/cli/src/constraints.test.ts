import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { constraintFromOptions, jsonErrorOffset, parseJson } from './constraints.js';
import { CliInputError, CliUsageError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'xinfer-constraints-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('jsonErrorOffset', () => {
  it('is -1 for valid JSON, whatever JSON.parse takes', () => {
    for (const text of [
      '{}',
      ' [1, -2.5e+3, "a\\"\\u00e9\\n", true, false, null, {"x": []}] ',
      '"é"',
      '0',
      'true',
    ]) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(jsonErrorOffset(text), text).toBe(-1);
    }
  });

  it.each([
    ['{"a": }', 6],
    ['{"a": 1,}', 8],
    ['{"a" 1}', 5],
    ['{a: 1}', 1],
    ['[1 2]', 3],
    ['[01]', 2],
    ['{"a": tru}', 6],
    ['"a\\x"', 3],
    ['"a\nb"', 2],
    ['{"a": [1, 2]', 12],
    ['', 0],
    ['{} x', 3],
  ])('finds the first error in %j at %d', (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonErrorOffset(text)).toBe(offset);
  });
});

describe('parseJson', () => {
  it('says where the JSON breaks, by line and column', () => {
    const error = (() => {
      try {
        parseJson('{\n  "type": "object",\n  "properties": {,}\n}', 'user.json');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CliInputError);
    expect((error as Error).message).toMatch(/^user\.json: not valid JSON at line 3, column 18 \(/);
  });
});

describe('constraintFromOptions', () => {
  it('is undefined without a constraint option', () => {
    expect(constraintFromOptions({})).toBeUndefined();
  });

  it('reads each option into its constraint, naming where it came from', () => {
    const schema = { type: 'object', properties: { a: { type: 'integer' } } };
    const schemaFile = file('s.json', `\uFEFF${JSON.stringify(schema)}`);
    const grammarFile = file('g.gbnf', 'root ::= "a"\n');
    expect(constraintFromOptions({ jsonSchema: schemaFile, jsonWhitespace: 'pretty' })).toEqual({
      constraint: { type: 'json_schema', schema, whitespace: 'pretty' },
      source: `--json-schema ${schemaFile}`,
    });
    expect(constraintFromOptions({ jsonSchema: ` ${JSON.stringify(schema)}` })).toEqual({
      constraint: { type: 'json_schema', schema },
      source: '--json-schema',
    });
    expect(constraintFromOptions({ jsonSchema: 'true' })?.constraint).toEqual({
      type: 'json_schema',
      schema: true,
    });
    expect(constraintFromOptions({ jsonObject: true })?.constraint).toEqual({
      type: 'json_object',
    });
    expect(constraintFromOptions({ grammarFile })).toEqual({
      constraint: { type: 'grammar', grammar: 'root ::= "a"\n' },
      source: `--grammar-file ${grammarFile}`,
    });
    expect(constraintFromOptions({ grammar: 'root ::= "b"' })?.constraint).toEqual({
      type: 'grammar',
      grammar: 'root ::= "b"',
    });
    expect(constraintFromOptions({ regex: '[a-z]+' })?.constraint).toEqual({
      type: 'regex',
      pattern: '[a-z]+',
    });
    expect(constraintFromOptions({ choice: ['a', 'b'] })?.constraint).toEqual({
      type: 'choice',
      choices: ['a', 'b'],
    });
  });

  it.each([
    [{ jsonWhitespace: 'any' }, '--json-whitespace needs --json-schema or --json-object'],
    [
      { regex: 'a', jsonWhitespace: 'compact' },
      '--json-whitespace needs --json-schema or --json-object',
    ],
    [{ jsonSchema: '{"type": 1' }, /^--json-schema: not valid JSON at line 1, column 11 \(/],
    [
      { jsonSchema: '{"type": "array", "uniqueItems": true}' },
      '--json-schema: the grammar engine does not enforce uniqueItems (at #/uniqueItems); leave it out or check it after generation',
    ],
    [{ grammar: '  ' }, '--grammar: grammar must be a non-empty string, got "  "'],
    [{ choice: ['a', ''] }, '--choice: choices[1] must be a non-empty string, got ""'],
    [{ regex: '' }, '--regex: pattern must be a non-empty string, got ""'],
    [
      { jsonSchema: join(dir, 'missing.json') },
      `--json-schema: cannot read ${join(dir, 'missing.json')}: no such file`,
    ],
    [{ grammarFile: dir }, `--grammar-file: cannot read ${dir}: a directory, not a file`],
  ] as const)('refuses %j: %s', (options, message) => {
    expect(() => constraintFromOptions(options)).toThrow(CliUsageError);
    expect(() => constraintFromOptions(options)).toThrow(message);
  });
});
