// The bench's own tests (`npx vitest run --config bench/peers/vitest.config.ts`): the root
// suite collects test/ only, and these need no peer package installed.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.test.ts'],
    testTimeout: 60_000,
  },
});
