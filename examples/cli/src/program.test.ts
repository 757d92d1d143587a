import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { buildProgram } from './program.js';
import { exitOverrideAll } from './testing.js';

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (text: string) => {
      io.stdout += text;
    },
    err: (text: string) => {
      io.stderr += text;
    },
  };
  return io;
}

async function run(args: string[]) {
  const io = capture();
  const program = exitOverrideAll(buildProgram(io, '1.2.3'));
  let exitCode = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    exitCode = (error as { exitCode?: number }).exitCode ?? 1;
  }
  return { ...io, exitCode };
}

describe('xinfer', () => {
  it('lists its commands in --help', async () => {
    const { stdout, exitCode } = await run(['--help']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain('Usage: xinfer');
    expect(stdout).toContain('gpu');
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
