import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// An app, not a library: ESM only.
export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', bin: 'src/bin.ts' }),
  format: ['esm'],
});
