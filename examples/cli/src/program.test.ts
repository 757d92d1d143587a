import { describe, expect, it } from 'vitest';
import { runXinfer } from './testing.js';

const run = (args: string[]) => runXinfer(args, '1.2.3');

describe('xinfer', () => {
  it('lists its commands in --help', async () => {
    const { stdout, exitCode } = await run(['--help']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain('Usage: xinfer');
    expect(stdout).toContain('gpu');
  });

  it("lists generate's constraint options, with llama.cpp's names, in generate --help", async () => {
    const { stdout, exitCode } = await run(['generate', '--help']);
    expect(exitCode).toBe(0);
    for (const option of [
      '-j, --json-schema <schema>',
      '--json-object',
      '--json-whitespace <style>',
      '--grammar <gbnf>',
      '--grammar-file <file>',
      '--regex <pattern>',
      '--choice <text>',
    ]) {
      expect(stdout).toContain(option);
    }
  });

  it('prints its version', async () => {
    const { stdout } = await run(['--version']);
    expect(stdout.trim()).toBe('1.2.3');
  });

  it('fails on an unknown command with a message naming it', async () => {
    const { stderr, exitCode } = await run(['frobnicate']);
    expect(exitCode).toBe(1);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });

  it('describes the WebGPU adapter as JSON with gpu --json', async () => {
    const { stdout, exitCode } = await run(['gpu', '--json']);
    expect(exitCode).toBe(0);
    const report = JSON.parse(stdout) as { features: string[]; limits: Record<string, number> };
    expect(Array.isArray(report.features)).toBe(true);
    expect(report.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });
});
