import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type JsonScanStep, JsonValueScanner } from './json-scanner.js';

/** Scans `text`; returns how many characters the value took, or 'error'/'open'. */
function scan(text: string): number | 'error' | 'open' {
  const scanner = new JsonValueScanner();
  for (let i = 0; i < text.length; i++) {
    const step: JsonScanStep = scanner.push(text[i]!);
    if (step === 'error') return 'error';
    if (step === 'done') return i + 1;
    if (step === 'done-before') return i;
  }
  return scanner.end() ? text.length : 'open';
}

describe('JsonValueScanner', () => {
  it('finds where a value ends, and nothing after it', () => {
    expect(scan('{"a": [1, 2, {"b": "}"}]} tail')).toBe(25);
    expect(scan('  [] ,')).toBe(4);
    expect(scan('"a\\"b" x')).toBe(6);
    expect(scan('true false')).toBe(4);
    expect(scan('null')).toBe(4);
    expect(scan('-12.5e+3,')).toBe(8);
    expect(scan('0}')).toBe(1);
    expect(scan('42')).toBe(2);
  });

  it('tells an unfinished value from a wrong one', () => {
    for (const open of ['{', '{"a"', '{"a":', '[1,', '"abc', '"\\u00', '-', '1.', '1e', 'tru']) {
      expect(scan(open), open).toBe('open');
    }
    for (const wrong of [
      '{a: 1}',
      "{'a': 1}",
      '[1,]',
      '{"a": 1,}',
      '{"a" 1}',
      '[1 2]',
      '"\\x"',
      '"\\u12g4"',
      '"a\nb"',
      '01',
      '-a',
      'trux',
      '{"a": 1]',
      '[}',
      '}',
    ]) {
      const result = scan(wrong);
      // `01` is the number 0 followed by something else: the value ends before the `1`.
      if (wrong === '01') expect(result).toBe(1);
      else expect(result, wrong).toBe('error');
    }
  });

  it('agrees with JSON.parse on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 2 }), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(scan(text)).toBe(text.length);
        expect(scan(`${text} `)).toBe(text.length);
      }),
      { numRuns: 300 },
    );
  });
});
