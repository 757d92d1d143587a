import { defineConfig } from 'vitest/config';

// These tests pack, install and cruise the whole workspace: minutes of I/O, not milliseconds.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000 },
});
