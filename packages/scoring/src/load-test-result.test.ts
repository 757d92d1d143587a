import { describe, expect, it } from 'vitest';
import { parseLoadTestResult, ResultFileError } from './load-test-result.js';
import { makeTestResult } from './test-fixtures.js';

describe('parseLoadTestResult', () => {
  it('loads a record written with the source field names, keeping unknown fields', () => {
    const json = JSON.stringify({ ...makeTestResult('vllm', 150, 15, 7, 20, 0, 1), extra: 42 });
    const result = parseLoadTestResult(json, 'a.json');
    expect(result.runtime_name).toBe('vllm');
    expect(result.decode_tok_per_sec).toBe(150);
    expect(result.request_details).toEqual([]);
    expect((result as Record<string, unknown>).extra).toBe(42);
  });

  it('accepts optional fields that are absent or null', () => {
    const record: Record<string, unknown> = makeTestResult('a', 150, 15, 7, 20, 0, 1);
    delete record.tail_analysis;
    delete record.request_details;
    record.gpu_telemetry = null;
    expect(parseLoadTestResult(JSON.stringify(record), 'a.json').gpu_telemetry).toBeNull();
  });

  it('names the file when the text is not JSON', () => {
    expect(() => parseLoadTestResult('{ nope', 'bad.json')).toThrow(
      expect.objectContaining({ code: 'RESULT_NOT_JSON', file: 'bad.json' }),
    );
    expect(() => parseLoadTestResult('{ nope', 'bad.json')).toThrow(/^bad\.json: not JSON/);
  });

  it('names the file and the field path of a missing or mistyped field', () => {
    const missing: Record<string, unknown> = makeTestResult('a', 150, 15, 7, 20, 0, 1);
    delete missing.ttft_p50_ms;
    expect(() => parseLoadTestResult(JSON.stringify(missing), 'm.json')).toThrow(
      expect.objectContaining({ code: 'RESULT_INVALID', path: 'ttft_p50_ms' }),
    );
    const nested = {
      ...makeTestResult('a', 150, 15, 7, 20, 0, 1),
      request_details: [{ completion_tokens: 3, itl_ms: 'slow' }],
    };
    const call = () => parseLoadTestResult(JSON.stringify(nested), 'n.json');
    expect(call).toThrow(ResultFileError);
    expect(call).toThrow(/^n\.json: request_details\[0\]\.itl_ms: /);
  });
});
