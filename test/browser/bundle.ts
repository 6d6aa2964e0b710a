// Bundles a test page's script for Chromium with esbuild: the browser entry stands in for
// src/index.js (the Node entry the shared test modules import), and TEST_SEED is baked in.
import { build, type Plugin } from 'esbuild';
import { fileURLToPath } from 'node:url';

const BROWSER_ENTRY = fileURLToPath(new URL('../../src/browser.ts', import.meta.url));

const browserEntry: Plugin = {
  name: 'browser-entry',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: BROWSER_ENTRY }));
  },
};

export async function bundleForBrowser(entry: string, seed: number): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    plugins: [browserEntry],
    define: { 'process.env.TEST_SEED': JSON.stringify(String(seed)) },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
