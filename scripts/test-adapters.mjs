#!/usr/bin/env node
// `npm run test:adapters`: the kernel suite on every adapter this machine can reach, then a
// table (adapter, subgroup size, tests passed). Legs:
//   lavapipe at subgroup sizes 4, 8 and 16 (LP_NATIVE_VECTOR_WIDTH=128|256|512; 512 needs
//   AVX-512 and is skipped with the reason elsewhere), lavapipe with the subgroup kernels
//   turned off (RESNEXT_KERNELS=portable), and SwiftShader in Chromium.
// `--legs sg4,portable` runs some of them (CI runs the ones `npm test` does not). Exits 1
// if any leg fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The kernel tests: every file that checks ops against the reference, fuzzing and mutants included. */
const KERNEL_TESTS = [
  'autograd',
  'autotune',
  'batchnorm',
  'block-forms',
  'conv2d',
  'conv2d-tiled',
  'cross_entropy',
  'elementwise',
  'fuzz',
  'fuzz-nn',
  'matmul',
  'matmul-tiled',
  'mutation',
  'mutation-conv',
  'optim',
  'pool',
  'reduce',
  'slice',
  'subgroup-plan',
].map((f) => `test/${f}.test.ts`);
const BROWSER_TESTS = ['test/browser-kernels.test.ts'];

const hasAvx512 = () => existsSync('/proc/cpuinfo') && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
const hasChromium = () =>
  ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH].some((p) => p && existsSync(p));

/**
 * One run of the kernel suite: which adapter it means, the environment that selects it, the
 * test files, and why it cannot run here (null when it can).
 * @typedef {{
 *   adapter: string,
 *   env: Record<string, string>,
 *   files: string[],
 *   browser?: boolean,
 *   unavailable?: () => string | null,
 * }} Leg
 */
/** A row of the final table. @typedef {{ leg: string, adapter: string, subgroups: string, passed: number, failed: number, skipped: number, status: string }} Row */

/** @type {Record<string, Leg>} */
const LEGS = {
  sg4: { adapter: 'lavapipe', env: { LP_NATIVE_VECTOR_WIDTH: '128' }, files: KERNEL_TESTS },
  sg8: { adapter: 'lavapipe', env: { LP_NATIVE_VECTOR_WIDTH: '256' }, files: KERNEL_TESTS },
  sg16: {
    adapter: 'lavapipe',
    env: { LP_NATIVE_VECTOR_WIDTH: '512' },
    files: KERNEL_TESTS,
    unavailable: () => (hasAvx512() ? null : 'this CPU has no AVX-512'),
  },
  portable: { adapter: 'lavapipe, portable kernels', env: { RESNEXT_KERNELS: 'portable' }, files: KERNEL_TESTS },
  chromium: {
    adapter: 'SwiftShader in Chromium',
    env: {},
    files: BROWSER_TESTS,
    browser: true,
    unavailable: () => (hasChromium() ? null : 'no Chromium (run npm run setup)'),
  },
};

/**
 * What probe-adapter.mjs --json prints on its last line.
 * @typedef {{ name: string, subgroups: { min: number | null, max: number | null } | null }} Probe
 */

/**
 * Reads probe-adapter's JSON line, checking its shape: it comes from another process.
 * @param {string} line
 * @returns {Probe}
 */
function parseProbe(line) {
  /** @type {unknown} */
  const value = JSON.parse(line);
  if (typeof value !== 'object' || value === null || !('name' in value) || typeof value.name !== 'string')
    throw new Error(`probe-adapter printed ${line}`);
  const subgroups = 'subgroups' in value ? value.subgroups : null;
  if (subgroups === null) return { name: value.name, subgroups: null };
  if (typeof subgroups !== 'object' || !('min' in subgroups) || !('max' in subgroups))
    throw new Error(`probe-adapter printed ${line}`);
  const size = (/** @type {unknown} */ v) => (typeof v === 'number' ? v : null);
  return { name: value.name, subgroups: { min: size(subgroups.min), max: size(subgroups.max) } };
}

/**
 * The adapter's name and subgroup sizes under `env`, from a probe-adapter.mjs child process.
 * @param {Record<string, string>} env
 * @returns {{ name: string, subgroups: string }}
 */
function probeSubgroups(env) {
  const run = spawnSync(process.execPath, ['scripts/probe-adapter.mjs', '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  try {
    const { name, subgroups } = parseProbe(run.stdout.trim().split('\n').pop() ?? '');
    return {
      name,
      subgroups: subgroups
        ? subgroups.min === subgroups.max
          ? String(subgroups.min)
          : `${subgroups.min}-${subgroups.max}`
        : 'none',
    };
  } catch {
    return { name: 'no adapter', subgroups: '?' };
  }
}

/**
 * The counts in vitest's JSON report, checked (it is another process's output): throws when
 * the report is missing or lacks them, as when the run itself broke.
 * @param {string} file
 * @returns {{ numPassedTests: number, numFailedTests: number, numPendingTests: number }}
 */
function readCounts(file) {
  /** @type {unknown} */
  const report = JSON.parse(readFileSync(file, 'utf8'));
  /** @param {string} key */
  const count = (key) => {
    const v =
      typeof report === 'object' && report !== null ? /** @type {Record<string, unknown>} */ (report)[key] : null;
    if (typeof v !== 'number') throw new Error(`${file}: no ${key}`);
    return v;
  };
  return {
    numPassedTests: count('numPassedTests'),
    numFailedTests: count('numFailedTests'),
    numPendingTests: count('numPendingTests'),
  };
}

/**
 * Runs one leg's files under vitest and sums up the result.
 * @param {string} name
 * @param {Leg} leg
 * @returns {Row}
 */
function runLeg(name, leg) {
  const why = leg.unavailable?.();
  if (why)
    return {
      leg: name,
      adapter: leg.adapter,
      subgroups: '-',
      passed: 0,
      failed: 0,
      skipped: 0,
      status: `skipped: ${why}`,
    };
  const dir = mkdtempSync(join(tmpdir(), 'adapters-'));
  const report = join(dir, 'report.json');
  const env = { ...process.env, ...leg.env };
  console.log(
    `\n== ${name}: ${leg.adapter} ${Object.entries(leg.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  const started = Date.now();
  const run = spawnSync(
    'npx',
    ['vitest', 'run', ...leg.files, '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`],
    { env, stdio: 'inherit' },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  let counts = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0 };
  try {
    counts = readCounts(report);
  } catch {
    // no report: the run itself broke (counted as failed below)
  }
  rmSync(dir, { recursive: true, force: true });
  const probe = leg.browser
    ? { subgroups: '4 (SwiftShader)' }
    : leg.env.RESNEXT_KERNELS === 'portable'
      ? { subgroups: 'off' }
      : probeSubgroups(env);
  const ok = run.status === 0 && counts.numFailedTests === 0;
  return {
    leg: name,
    adapter: leg.adapter,
    subgroups: probe.subgroups,
    passed: counts.numPassedTests,
    failed: counts.numFailedTests,
    skipped: counts.numPendingTests,
    status: ok ? `ok (${seconds} s)` : `FAILED (exit ${run.status})`,
  };
}

/** @param {Row[]} rows */
function printTable(rows) {
  const head = ['leg', 'adapter', 'subgroup size', 'passed', 'failed', 'skipped', 'status'];
  const cells = rows.map((r) => [r.leg, r.adapter, r.subgroups, r.passed, r.failed, r.skipped, r.status].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (/** @type {string[]} */ c) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(['', line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n'));
}

const chosen = process.argv.includes('--legs')
  ? process.argv[process.argv.indexOf('--legs') + 1].split(',')
  : Object.keys(LEGS);
const unknown = chosen.filter((l) => !(l in LEGS));
if (unknown.length) {
  console.error(`test:adapters: unknown leg(s) ${unknown.join(', ')}; the legs are ${Object.keys(LEGS).join(', ')}`);
  process.exit(2);
}
const rows = chosen.map((name) => runLeg(name, LEGS[name]));
printTable(rows);
process.exit(rows.some((r) => r.status.startsWith('FAILED')) ? 1 : 0);
