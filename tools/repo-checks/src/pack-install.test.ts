import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishablePackages, withInternalDeps } from './workspace.js';

// Each package as it would be published (`pnpm pack`), installed into an empty project with only
// the tarballs of its own @x/* dependencies, must load by `import` and by `require` and export the
// same names both ways. This is what proves there is no hidden reliance on a sibling.
const packages = publishablePackages();
const work = mkdtempSync(join(tmpdir(), 'xinfer-pack-'));
const tarballs = new Map<string, string>();

beforeAll(() => {
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  for (const pkg of packages) {
    const before = new Set(readdirSync(dest));
    execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: pkg.dir, stdio: 'pipe' });
    const created = readdirSync(dest).find((f) => !before.has(f));
    if (!created) throw new Error(`pnpm pack wrote no tarball for ${pkg.name}`);
    tarballs.set(pkg.name, join(dest, created));
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('each package installed alone from its tarball', () => {
  it('finds the ten publishable packages', () => {
    expect(packages.map((p) => p.name).sort()).toEqual(
      [
        'batcher',
        'budget',
        'cpu-wasm',
        'demo-model',
        'engine',
        'gpu-webgpu',
        'kvcache',
        'model',
        'scheduler',
        'scoring',
      ].map((n) => `@x/${n}`),
    );
  });

  it.each(packages.map((p) => [p.name]))('%s loads by import and by require', (name) => {
    const project = join(work, name.replace('/', '-'));
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{ "name": "consumer", "private": true }\n');
    const needed = withInternalDeps(name, packages).map((n) => tarballs.get(n)!);
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline', ...needed],
      { cwd: project, stdio: 'pipe' },
    );
    const installed = readdirSync(join(project, 'node_modules', '@x')).map((n) => `@x/${n}`);
    expect(installed.sort()).toEqual(withInternalDeps(name, packages).sort());

    const esm = execFileSync(
      'node',
      [
        '--input-type=module',
        '-e',
        `console.log(JSON.stringify(Object.keys(await import('${name}')).sort()))`,
      ],
      { cwd: project, encoding: 'utf8' },
    );
    const cjs = execFileSync(
      'node',
      ['-e', `console.log(JSON.stringify(Object.keys(require('${name}')).sort()))`],
      { cwd: project, encoding: 'utf8' },
    );
    const esmKeys = JSON.parse(esm) as string[];
    expect(esmKeys.length).toBeGreaterThan(0);
    expect(JSON.parse(cjs)).toEqual(esmKeys);
  });
});
