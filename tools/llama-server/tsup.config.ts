import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// ESM only: a private tool run with `node dist/cli.js`, imported by tests and scripts as ESM.
export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', cli: 'src/cli.ts' }),
  format: ['esm'],
});
