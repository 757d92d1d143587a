import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './workspace.js';

// The layer rule itself runs on the real tree in the test command (`pnpm check:layers`). These
// tests prove the rule bites: on a small copy of the workspace's shape, an upward import or an
// undeclared one must fail the check with a message naming the file and the edge.
const depcruise = join(
  ROOT,
  'tools/repo-checks/node_modules/dependency-cruiser/bin/dependency-cruise.mjs',
);

let fixture: string | undefined;
afterEach(() => {
  if (fixture) rmSync(fixture, { recursive: true, force: true });
  fixture = undefined;
});

function workspaceWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'xinfer-layers-'));
  cpSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  cpSync(join(ROOT, 'tsconfig.base.json'), join(dir, 'tsconfig.base.json'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function manifest(name: string, dependencies: Record<string, string> = {}): string {
  return JSON.stringify({ name: `@x/${name}`, version: '0.0.0', type: 'module', dependencies });
}

function cruise(dir: string) {
  const result = spawnSync(
    process.execPath,
    [depcruise, 'packages', '--config', '.dependency-cruiser.cjs', '--output-type', 'err-long'],
    { cwd: dir, encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the layer rule', () => {
  it('fails an upward import (@x/budget importing @x/engine), naming the file and edge', () => {
    fixture = workspaceWith({
      'packages/budget/package.json': manifest('budget', { '@x/engine': 'workspace:*' }),
      'packages/budget/src/index.ts': "export { run } from '@x/engine';\n",
      'packages/engine/package.json': manifest('engine'),
      'packages/engine/src/index.ts': 'export const run = 1;\n',
    });
    const { status, output } = cruise(fixture);
    expect(status).not.toBe(0);
    expect(output).toContain('layer:budget: packages/budget/src/index.ts → @x/engine');
    expect(output).toContain('@x/budget may import only no internal package');
  });

  it('fails an import of a package missing from package.json', () => {
    fixture = workspaceWith({
      'packages/kvcache/package.json': manifest('kvcache'),
      'packages/kvcache/src/index.ts': "export { TokenBudget } from '@x/budget';\n",
    });
    const { status, output } = cruise(fixture);
    expect(status).not.toBe(0);
    expect(output).toContain('no-undeclared-dependency: packages/kvcache/src/index.ts → @x/budget');
  });

  it('passes a downward, declared import (@x/kvcache importing @x/budget)', () => {
    fixture = workspaceWith({
      'packages/kvcache/package.json': manifest('kvcache', { '@x/budget': 'workspace:*' }),
      'packages/kvcache/src/index.ts': "export { TokenBudget } from '@x/budget';\n",
      // As pnpm links it: the workspace package, installed.
      'node_modules/@x/budget/package.json': JSON.stringify({
        name: '@x/budget',
        main: 'index.js',
      }),
      'node_modules/@x/budget/index.js': 'export class TokenBudget {}\n',
    });
    const { status, output } = cruise(fixture);
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });
});
