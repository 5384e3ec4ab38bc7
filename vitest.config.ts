import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Vitest's default is one worker fewer than the cores: one on a 2-core machine, where the suite
// then took 20 min. Its integration tests wait on moto, the emulators and child processes far more
// than they compute, so two workers share two cores well (14 min); more cores keep the default.
const cores = availableParallelism();
const maxWorkers = Math.max(Math.min(2, cores), cores - 1);

// Three projects with their own folders and time budgets. `npm test` runs all of them; each
// can run alone with `vitest run --project <name>`.
export default defineConfig({
  test: {
    maxWorkers,
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
