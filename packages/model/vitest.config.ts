import { defineConfig } from 'vitest/config';

// Tests build real vocabularies (32k–150k tokens) and small models: seconds on a busy 2-core machine.
export default defineConfig({
  test: { testTimeout: 60_000 },
});
