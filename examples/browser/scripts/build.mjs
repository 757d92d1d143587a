// Builds the demo into dist/: the page's script bundled for browsers (dist/page.js, every
// dependency inside, the `browser` export condition picking each package's browser entry),
// index.html, the demo model file beside them, and the Node static server (dist/node/).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoModelPath } from '@x/demo-model';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const common = {
  bundle: true,
  format: 'esm',
  sourcemap: true,
  // `engine.info.executor` is a class name: keep every name as written.
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: root,
};

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/page.ts'],
    outdir: 'dist',
    // xgrammar (1 MB, for constrained output only) goes in a chunk of its own beside page.js,
    // fetched the first time a request has a constraint.
    splitting: true,
    chunkNames: '[name]-[hash]',
    platform: 'browser',
    conditions: ['browser'],
    target: ['es2022'],
    // xgrammar's Emscripten code names these Node built-ins on paths a browser never takes.
    external: ['module', 'url'],
  }),
  build({
    ...common,
    entryPoints: ['src/start.ts', 'src/serve.ts'],
    outdir: 'dist/node',
    platform: 'node',
    target: ['node20'],
    banner: { js: '#!/usr/bin/env node' },
  }),
  copyFile(join(root, 'public', 'index.html'), join(dist, 'index.html')),
  copyFile(demoModelPath, join(dist, basename(demoModelPath))),
]);
