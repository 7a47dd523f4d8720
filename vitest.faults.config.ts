import { defineConfig } from 'vitest/config'

/**
 * The fault suite (`npm run test:faults`): real API and worker processes, a private
 * redis-server, an SMTP server and a TCP proxy in front of the database, broken on purpose.
 * Files run one at a time: each starts processes and servers of its own and measures timings.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 150_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
})
