import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { publishablePackages, ROOT } from './workspace.js';

// Every package runs in browsers too (ARCHITECTURE.md: "no Node-only import may leak into the
// browser entry points"). Bundling each one for the browser, with the `browser` export condition,
// fails on any `node:` builtin or Node-only dependency (such as Dawn's `webgpu`) it reaches.
const packages = publishablePackages();

describe('browser builds', () => {
  it.each(packages.map((p) => [p.name]))('%s bundles for the browser', async (name) => {
    const result = await build({
      stdin: {
        contents: `export * from '${name}';`,
        resolveDir: join(ROOT, 'tools/repo-checks'),
        loader: 'js',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      nodePaths: [],
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).not.toMatch(/from ["']node:|require\(["']node:/);
  });
});
