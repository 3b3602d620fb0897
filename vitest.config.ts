import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two forks on the 2-core machines here (the default is one fewer than the cores): the heavy
    // files run TF.js WASM on one thread each, so the unit tests take ~95 s instead of ~150 s.
    maxWorkers: 2,
  },
});
