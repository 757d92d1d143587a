import { defineConfig } from 'vitest/config';

// WebGPU tests compile kernels and run them on lavapipe (a CPU Vulkan driver) where there is no
// GPU: seconds each on a busy 2-core machine.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 120_000 },
});
