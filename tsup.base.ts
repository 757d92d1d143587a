import type { Options } from 'tsup';

/**
 * The one build shape every package shares: ESM (`.js`) and CJS (`.cjs`) with declarations for both,
 * no bundling of dependencies, Node 20 as the floor.
 */
export function packageBuild(entry: Record<string, string> = { index: 'src/index.ts' }): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
    removeNodeProtocol: false,
    // Class names are part of what users see (`engine.info.executor`, error names): keep them.
    keepNames: true,
    outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
    esbuildOptions(options) {
      // Keep `import()` as is in the CJS build, so an ESM-only dependency loads lazily from CJS too.
      options.supported = { ...options.supported, 'dynamic-import': true };
    },
  };
}
