import { defineConfig } from 'vitest/config';

// Loading the model and 32 greedy steps of the reference executor take a second or two on two
// shared cores; leave room.
export default defineConfig({
  test: { testTimeout: 60_000 },
});
