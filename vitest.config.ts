import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One WebGPU device per file, files one after another: the adapter is emulated on two
    // CPU cores, and parallel files would only fight over them.
    pool: 'forks',
    // The soak test collects garbage before it samples the JS heap.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
