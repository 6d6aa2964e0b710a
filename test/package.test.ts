// The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into
// a fresh project, then plain `node` (no tsx) runs a grouped conv forward and backward, a
// TypeScript consumer type-checks against the shipped .d.ts, and the same tarball bundled
// for the browser with esbuild (browser conditions, no aliases) runs in Chromium. Results
// are compared with the float64 reference.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d as refConv, conv2dGradInput, conv2dGradWeight, nd } from '../src/reference/index.js';
import { chromiumPath, launchChromium, openPage, serve, waitForGlobal } from './browser/chromium.js';
import { assertClose } from './helpers.js';
// @ts-expect-error: a plain ESM fixture without type declarations
import { CASE as untypedCase } from './fixtures/package/case.mjs';

/** The shape of fixtures/package/case.mjs's CASE, given here: the fixture is plain JS. */
interface PackageCase {
  xShape: number[];
  wShape: number[];
  options: { stride: number; padding: number; groups: number };
  x: number[];
  w: number[];
  dy: number[];
}
const CASE = untypedCase as PackageCase;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/package/', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

function sh(command: string, args: string[], cwd: string): string {
  const run = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  if (run.status !== 0)
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

interface ConvResult {
  y: number[];
  dx: number[];
  dw: number[];
}

function expectReference(result: ConvResult, where: string): void {
  const spec = {
    stride: [2, 2] as [number, number],
    padding: [1, 1] as [number, number],
    dilation: [1, 1] as [number, number],
    groups: CASE.options.groups,
  };
  const [x, w] = [nd(Float32Array.from(CASE.x), CASE.xShape), nd(Float32Array.from(CASE.w), CASE.wShape)];
  const y = refConv(x, w, null, spec);
  const dy = nd(Float32Array.from(CASE.dy), y.shape);
  assertClose(result.y, y.data, `${where}: forward`, { rtol: 1e-5, atol: 1e-5 });
  assertClose(result.dx, conv2dGradInput(dy, w, CASE.xShape, spec).data, `${where}: grad-input`, {
    rtol: 1e-5,
    atol: 1e-5,
  });
  assertClose(result.dw, conv2dGradWeight(x, dy, CASE.wShape, spec).data, `${where}: grad-weight`, {
    rtol: 1e-5,
    atol: 1e-5,
  });
}

describe('the npm package, installed from its tarball into a fresh project', () => {
  let project: string;

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'resnext-package-'));
    const tarball = sh('npm', ['pack', '--silent', '--pack-destination', project], ROOT).trim().split('\n').pop()!;
    cpSync(FIXTURE, project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    sh('npm', ['install', '--prefer-offline', '--no-save', join(project, tarball)], project);
  }, 360_000);

  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('ships dist/ (ESM and .d.ts) and no TypeScript source', () => {
    const dist = readdirSync(join(project, 'node_modules', 'resnext-webgpu', 'dist'));
    expect(dist).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'browser.js', 'browser.d.ts', 'core.js']));
    expect(readdirSync(join(project, 'node_modules', 'resnext-webgpu'))).not.toContain('src');
  });

  it('runs a grouped conv forward and backward from plain node, matching the reference', () => {
    const out = sh(process.execPath, ['app.mjs'], project);
    expectReference(JSON.parse(out.trim().split('\n').pop()!) as ConvResult, 'node app.mjs');
  });

  it('type-checks a TypeScript consumer against the shipped .d.ts', () => {
    sh(TSC, ['-p', '.'], project);
  });

  it('its `resnext` command runs the built CLI', () => {
    expect(sh(join(project, 'node_modules', '.bin', 'resnext'), ['info', 'small_resnext'], project)).toMatch(
      /249,322 parameters/,
    );
  });

  it.skipIf(!chromiumPath())(
    'bundled for the browser without aliases, runs on navigator.gpu in Chromium, matching the reference',
    { timeout: 180_000 },
    async () => {
      const bundle = await build({
        entryPoints: [join(project, 'browser-app.mjs')],
        absWorkingDir: project,
        bundle: true,
        write: false,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        logLevel: 'silent',
      });
      const script = bundle.outputFiles[0].text;
      expect(script).not.toMatch(/from\s*["']node:|require\(["']node:/);
      const server = await serve({
        '/': '<!doctype html><script type="module" src="/app.js"></script>',
        '/app.js': script,
      });
      const browser = await launchChromium();
      try {
        const { page, log } = await openPage(browser, `${server.url}/`);
        await waitForGlobal(page, log, 'result', 120_000);
        const result = await page.evaluate(
          () => (globalThis as unknown as { result: ConvResult & { adapter: string } }).result,
        );
        expect(result.adapter).toMatch(/swiftshader/i);
        expectReference(result, 'browser bundle');
      } finally {
        await browser.close();
        await server.close();
      }
    },
  );
});
