import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One workspace config: each package is a project, plus the cross-package tests in tests/.
// Tests import packages by their published names, which resolve to the built dist/ (`pnpm test` builds first).
/** LEPTON_TEST_WORKERS if it is a whole number ≥ 1, else 2 (or cores − 1 where that is more). */
function testWorkers(value: string | undefined): number {
  const n = Number(value);
  if (value !== undefined && value.trim() !== '' && Number.isInteger(n) && n >= 1) return n;
  if (value !== undefined) console.warn(`LEPTON_TEST_WORKERS=${JSON.stringify(value)} is not a whole number ≥ 1; using the default`);
  return Math.max(2, availableParallelism() - 1);
}

export default defineConfig({
  test: {
    // Two test files at a time, even on 2 cores (vitest's default is cores − 1, i.e. one file at a time there): many
    // files spend most of their time waiting on child processes, servers and npm, so a second file overlaps with them.
    // LEPTON_TEST_WORKERS overrides it (1 = one file at a time).
    maxWorkers: testWorkers(process.env['LEPTON_TEST_WORKERS']),
    projects: [
      {
        test: {
          name: 'core',
          root: 'packages/core',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'charts',
          root: 'packages/charts',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'federated',
          root: 'packages/federated',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'finance',
          root: 'packages/finance',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'manufacturing',
          root: 'packages/manufacturing',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'medical',
          root: 'packages/medical',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'surveillance',
          root: 'packages/surveillance',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'cli',
          root: 'packages/cli',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'cross-package',
          root: 'tests',
          include: ['*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
