import { defineConfig } from 'vitest/config';

// llama.cpp loads models and generates on two CPU cores: seconds per test, not milliseconds.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 120_000 },
});
