import { defineConfig } from 'vitest/config';

// End-to-end tests: a real engine, the built app under `vite preview`, headless Chromium.
export default defineConfig({
  test: {
    include: ['test/e2e/*.e2e.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
