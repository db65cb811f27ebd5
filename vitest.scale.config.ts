/**
 * @module vitest.scale.config — `npm run test:scale`: tests whose property is about scale, at the size the property is
 * claimed for, which `npm test` checks at a small size to stay quick. Today one: a streaming run's heap at 10^4
 * features against 5·10^3 (test/pipeline/streaming-memory.test.ts, whose N is 400 in `npm test`; a
 * STREAMING_MEMORY_FEATURES set in the environment sets another N). `.ci/run` runs it after `npm test`.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'scale',
    include: ['test/pipeline/streaming-memory.test.ts'],
    env: { STREAMING_MEMORY_FEATURES: process.env.STREAMING_MEMORY_FEATURES ?? '5000' },
    pool: 'forks',
    // Hang guards only (the outcome is a ratio of heap, never a time): minutes for 1.5·10^4 features on 2 busy cores.
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
  },
});
