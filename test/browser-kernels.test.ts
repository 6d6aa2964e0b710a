// The kernel correctness suite in a real browser: Chromium's WebGPU on SwiftShader (a
// second WebGPU implementation next to Dawn on lavapipe; subgroups of 4). Skipped, saying
// why, where no Chromium is installed; `npm run setup` installs Debian's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { chromiumPath, launchChromium, openPage, serve, waitForGlobal, type Served } from './browser/chromium.js';
import { bundleForBrowser } from './browser/bundle.js';
import { SEED } from './helpers.js';
import { checkNames, type runKernelSuite, type SuiteResult } from './browser/kernel-suite.js';

const RANDOM_CONV_CASES = Number(process.env.BROWSER_CONV_CASES ?? 40);
const chromium = chromiumPath();
if (!chromium) console.warn('browser tests skipped: no Chromium found (run `npm run setup`, or set CHROMIUM_PATH)');

describe.skipIf(!chromium)(`in Chromium (${chromium}) on its WebGPU adapter, against the float64 reference`, () => {
  let browser: Browser;
  let server: Served;
  const results = new Map<string, SuiteResult>();

  beforeAll(async () => {
    const script = await bundleForBrowser(new URL('./browser/kernel-suite.ts', import.meta.url).pathname, SEED);
    server = await serve({
      '/': '<!doctype html><title>kernel suite</title><script type="module" src="/suite.js"></script>',
      '/suite.js': script,
    });
    browser = await launchChromium();
    const { page, log } = await openPage(browser, `${server.url}/`);
    await waitForGlobal(page, log, 'runKernelSuite', 60_000);
    const report = await page.evaluate(
      (n) => (globalThis as unknown as { runKernelSuite: typeof runKernelSuite }).runKernelSuite(n),
      RANDOM_CONV_CASES,
    );
    console.log(
      `browser suite on ${report.adapter} (subgroup size ${report.subgroupSize ?? 'none'}), seed ${report.seed}: ${report.results.filter((r) => r.ok).length} of ${report.results.length} checks passed`,
    );
    for (const r of report.results) results.set(r.name, r);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  // Named in Node from the same seed, so a check the page never reported fails too.
  it.each(checkNames(RANDOM_CONV_CASES))('%s', (name) => {
    const result = results.get(name);
    expect(result, `the page reported no result for '${name}'`).toBeDefined();
    expect(result!.error ?? 'ok').toBe('ok');
  });
});
