import { defineConfig } from 'vitest/config';

// llama.cpp loads models and generates on a couple of CPU cores: one file at a time, so no file's
// llama.cpp threads compete with another's.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
