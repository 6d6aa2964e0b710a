// The kernel correctness suite in a real browser: Chromium's WebGPU on SwiftShader (a
// second WebGPU implementation next to Dawn on lavapipe; subgroups of 4). Skipped, saying
// why, where no Chromium is installed; `npm run setup` installs Debian's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { chromiumPath, launchChromium, openPage, serve, type Served } from './browser/chromium.js';
import { bundleForBrowser } from './browser/bundle.js';
import { SEED } from './helpers.js';
import type { SuiteResult } from './browser/kernel-suite.js';

const RANDOM_CONV_CASES = Number(process.env.BROWSER_CONV_CASES ?? 40);
const chromium = chromiumPath();
if (!chromium) console.warn('browser tests skipped: no Chromium found (run `npm run setup`, or set CHROMIUM_PATH)');

describe.skipIf(!chromium)(`in Chromium (${chromium}) on its WebGPU adapter`, () => {
  let browser: Browser;
  let server: Served;

  beforeAll(async () => {
    const script = await bundleForBrowser(new URL('./browser/kernel-suite.ts', import.meta.url).pathname, SEED);
    server = await serve({ '/': '<!doctype html><title>kernel suite</title><script type="module" src="/suite.js"></script>', '/suite.js': script });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it(`conv2d (${RANDOM_CONV_CASES} random grouped cases and the fixed ones), BatchNorm, matmul and SGD match the float64 reference`, { timeout: 600_000 }, async () => {
    const { page, log } = await openPage(browser, `${server.url}/`);
    await page.waitForFunction(() => 'runKernelSuite' in globalThis, { timeout: 60_000 }).catch(() => {
      throw new Error(`the suite did not load:\n${log.join('\n')}`);
    });
    const report = await page.evaluate((n) => (globalThis as unknown as { runKernelSuite: (n: number) => Promise<{ adapter: string; subgroupSize: number | null; seed: number; results: SuiteResult[] }> }).runKernelSuite(n), RANDOM_CONV_CASES);
    const failed = report.results.filter((r) => !r.ok);
    console.log(`browser suite on ${report.adapter} (subgroup size ${report.subgroupSize ?? 'none'}), seed ${report.seed}: ${report.results.length - failed.length} of ${report.results.length} checks passed`);
    expect(report.seed).toBe(SEED);
    expect(failed.map((r) => `${r.name}: ${r.error}`)).toEqual([]);
    expect(report.results.length).toBeGreaterThan(RANDOM_CONV_CASES);
  });
});
