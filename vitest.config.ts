import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Node loads graphql's CommonJS build for libraries (Pothos, Yoga); Vite would hand our own code the
// ESM build, and graphql refuses types from "another realm". One build for everyone.
const graphql = createRequire(new URL('./apps/api/package.json', import.meta.url)).resolve('graphql');

// Two projects: `unit` runs in-process tests (pure and against the shared Redis, each with its own
// key prefix); `e2e` starts real processes and a real browser, so it runs one file at a time.
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphql }] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/fixtures/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
