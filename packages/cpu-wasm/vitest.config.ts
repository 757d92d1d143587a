import { defineConfig } from 'vitest/config';

// Parity tests run whole models through the kernels and the reference executor on a busy machine.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 120_000 },
});
