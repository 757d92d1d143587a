import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runXinfer } from '../testing.js';

const fixture = (name: string) => join(import.meta.dirname, '../../test/fixtures', name);

const xinfer = (args: string[]) => runXinfer(args);

describe('xinfer score', () => {
  it('prints the scorecard JSON with the source field names', async () => {
    const { stdout, exitCode } = await xinfer([
      'score',
      '--format',
      'json',
      fixture('runtime_a.json'),
      fixture('runtime_b.json'),
    ]);
    expect(exitCode).toBe(0);
    const card = JSON.parse(stdout);
    expect(card).toMatchObject({ contract_version: '2.0.0', concurrency: 1 });
    expect(card.runtimes.map((r: { name: string }) => r.name)).toEqual(['runtime_a', 'runtime_b']);
    expect(card.runtimes[0]).toMatchObject({
      source_file: fixture('runtime_a.json'),
      composite: 100,
      grade: 'A+',
    });
    expect(card.runtimes[1]).toMatchObject({ composite: 86, grade: 'A-' });
  });

  it('prints the text table by default and markdown on request', async () => {
    const table = await xinfer(['score', fixture('runtime_a.json')]);
    expect(table.stdout).toContain('Inference Runtime Scorecard — Interactive (c=1)');
    const markdown = await xinfer(['score', '--format', 'markdown', fixture('runtime_a.json')]);
    expect(markdown.stdout).toContain('## Scorecard — Interactive (c=1)');
  });

  it('scores throughput scaling against --c1 baselines', async () => {
    const base = JSON.parse(
      (await import('node:fs')).readFileSync(fixture('runtime_a.json'), 'utf8'),
    ) as Record<string, unknown>;
    const dir = mkdtempSync(join(tmpdir(), 'xinfer-score-'));
    const c1 = join(dir, 'foo-c1.json');
    writeFileSync(c1, JSON.stringify({ ...base, runtime_name: 'foo' }));
    const { stdout } = await xinfer([
      'score',
      '--format',
      'json',
      fixture('foo-c8.json'),
      '--c1',
      c1,
    ]);
    const card = JSON.parse(stdout);
    expect(card.concurrency).toBe(8);
    expect(card.runtimes[0].metrics.throughput_scaling).toEqual({
      value: 6.4,
      score: 100,
      best: true,
    });
  });

  it('applies a contract file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xinfer-score-'));
    const contract = join(dir, 'contract.yaml');
    writeFileSync(
      contract,
      [
        'thresholds: { decode_tok_s: { excellent: 1000, good: 500, higher_is_better: true } }',
        'interactive_weights: { decode_tok_s: 1 }',
        'throughput_weights: { decode_tok_s: 1 }',
        'best_in_class_bonus: 0',
        'grades: [[50, pass], [0, fail]]',
      ].join('\n'),
    );
    const { stdout } = await xinfer([
      'score',
      '--format',
      'json',
      '--contract',
      contract,
      fixture('runtime_a.json'),
    ]);
    // 150 tok/s against good 500: 75 × 150 / 500 = 22.5 → 23.
    expect(JSON.parse(stdout).runtimes[0]).toMatchObject({ composite: 23, grade: 'fail' });
  });

  it('names the file and field of a bad result file and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xinfer-score-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ runtime_name: 'x' }));
    const { exitCode, stderr } = await xinfer(['score', bad]);
    expect(exitCode).toBe(1);
    expect(stderr).toContain(`${bad}: total_requests:`);
    const missing = await xinfer(['score', join(dir, 'nope.json')]);
    expect(missing.stderr).toContain('nope.json: no such file');
  });

  it('prints the concurrency-scaling card from c=1 and c>1 files', async () => {
    const base = JSON.parse(
      (await import('node:fs')).readFileSync(fixture('runtime_a.json'), 'utf8'),
    ) as Record<string, unknown>;
    const dir = mkdtempSync(join(tmpdir(), 'xinfer-score-'));
    const c1 = join(dir, 'foo-c1.json');
    writeFileSync(c1, JSON.stringify({ ...base, runtime_name: 'foo-c1' }));
    const { stdout } = await xinfer([
      'score',
      '--card',
      'scaling',
      '--format',
      'json',
      fixture('foo-c8.json'),
      '--c1',
      c1,
    ]);
    // 960 aggregate tok/s at c=8 over 150 × 8: 80 % of linear.
    expect(JSON.parse(stdout).runtimes[0]).toMatchObject({
      name: 'foo',
      peak_concurrency: 8,
      scaling_efficiency: 0.8,
    });
  });

  it('prints every card with --card all', async () => {
    const { stdout, exitCode } = await xinfer([
      'score',
      '--card',
      'all',
      '--format',
      'json',
      fixture('runtime_a.json'),
    ]);
    expect(exitCode).toBe(0);
    expect(Object.keys(JSON.parse(stdout))).toEqual([
      'main',
      'layer',
      'profile',
      'correctness',
      'output-length',
      'memory',
      'cold-start',
      'power',
      'scaling',
    ]);
    const table = await xinfer(['score', '--card', 'all', fixture('runtime_a.json')]);
    expect(table.stdout).toContain('Per-Prompt-Profile Scores');
    expect(table.stdout).toContain('Cold Start Time');
  });

  it('rejects an unknown card or format', async () => {
    const { exitCode, stderr } = await xinfer([
      'score',
      '--card',
      'vibes',
      fixture('runtime_a.json'),
    ]);
    expect(exitCode).toBe(1);
    expect(stderr).toContain("argument 'vibes' is invalid");
  });
});
