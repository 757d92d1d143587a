import { defineConfig } from 'vitest/config';

// The browser test bundles nothing itself (the build does), but starts Chromium, loads a 6 MB
// model into WebAssembly memory and generates on a busy machine: allow minutes, not seconds.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 120_000 },
});
