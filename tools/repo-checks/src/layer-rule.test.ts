import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './workspace.js';

// The layer rule itself runs on the real tree in the test command (`pnpm check:layers`). These
// tests prove the rule bites: on a small copy of the workspace's shape, with packages linked the
// way pnpm links them, each kind of bad import must fail the check with a message naming the file
// and the edge.
const depcruise = join(
  ROOT,
  'tools/repo-checks/node_modules/dependency-cruiser/bin/dependency-cruise.mjs',
);

let fixture: string | undefined;
afterEach(() => {
  if (fixture) rmSync(fixture, { recursive: true, force: true });
  fixture = undefined;
});

/** A workspace in a temporary folder: `files` by path, `links` as pnpm makes them (path → target). */
function workspaceWith(files: Record<string, string>, links: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'xinfer-layers-'));
  cpSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  cpSync(join(ROOT, 'tsconfig.base.json'), join(dir, 'tsconfig.base.json'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(relative(dirname(join(dir, path)), join(dir, target)), join(dir, path), 'dir');
  }
  return dir;
}

/** A workspace package whose entry is its source (so the fixture needs no build). */
function workspacePackage(name: string, source: string, dependencies: Record<string, string> = {}) {
  return {
    [`packages/${name}/package.json`]: JSON.stringify({
      name: `@x/${name}`,
      version: '0.0.0',
      type: 'module',
      main: 'src/index.ts',
      dependencies,
    }),
    [`packages/${name}/src/index.ts`]: source,
  };
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
  it('fails a declared upward import (@x/budget importing @x/engine), naming the edge', () => {
    fixture = workspaceWith(
      {
        ...workspacePackage('budget', "export { run } from '@x/engine';\n", {
          '@x/engine': 'workspace:*',
        }),
        ...workspacePackage('engine', 'export const run = 1;\n'),
      },
      { 'packages/budget/node_modules/@x/engine': 'packages/engine' },
    );
    const { status, output } = cruise(fixture);
    expect(status).not.toBe(0);
    expect(output).toContain(
      'layer:budget: packages/budget/src/index.ts → packages/engine/src/index.ts',
    );
    expect(output).toContain('@x/budget may import only no internal package');
  });

  it('fails an undeclared upward import, which pnpm leaves unlinked', () => {
    fixture = workspaceWith({
      ...workspacePackage('kvcache', "export { Scheduler } from '@x/scheduler';\n"),
    });
    const { status, output } = cruise(fixture);
    expect(status).not.toBe(0);
    expect(output).toContain('layer:kvcache: packages/kvcache/src/index.ts → @x/scheduler');
    expect(output).toContain('no-unresolvable: packages/kvcache/src/index.ts → @x/scheduler');
  });

  it('fails an import of a package missing from package.json, even when it is hoisted', () => {
    fixture = workspaceWith({
      ...workspacePackage('kvcache', "export { default } from 'left-pad';\n"),
      'node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', main: 'index.js' }),
      'node_modules/left-pad/index.js': 'export default (s) => s;\n',
    });
    const { status, output } = cruise(fixture);
    expect(status).not.toBe(0);
    expect(output).toContain(
      'no-undeclared-dependency: packages/kvcache/src/index.ts → node_modules/left-pad/index.js',
    );
  });

  it('fails an import that resolves to no file', () => {
    fixture = workspaceWith({
      ...workspacePackage('model', "export { load } from './loader.js';\n"),
    });
    const { status, output } = cruise(fixture);
    expect(status).not.toBe(0);
    expect(output).toContain('no-unresolvable: packages/model/src/index.ts → ./loader.js');
  });

  it('passes a downward, declared import (@x/kvcache importing @x/budget)', () => {
    fixture = workspaceWith(
      {
        ...workspacePackage('kvcache', "export { TokenBudget } from '@x/budget';\n", {
          '@x/budget': 'workspace:*',
        }),
        ...workspacePackage('budget', 'export class TokenBudget {}\n'),
      },
      { 'packages/kvcache/node_modules/@x/budget': 'packages/budget' },
    );
    const { status, output } = cruise(fixture);
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });
});
