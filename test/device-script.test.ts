// bench/device.sh and bench/resnext50-step.ts without running their benchmarks: syntax, help,
// argument checks, and that every option they pass exists in the command they pass it to
// (a renamed option would otherwise fail only on the GPU machine, where it costs most).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE as PEERS_USAGE } from '../bench/peers/args.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SCRIPT = 'bench/device.sh';
const STEP = 'bench/resnext50-step.ts';
const TSX = 'node_modules/.bin/tsx';
const text = readFileSync(new URL(`../${SCRIPT}`, import.meta.url), 'utf8');

const sh = (cmd: string, ...args: string[]) =>
  spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env } });

/** The --options on the script's line that matches `start`, with its `\` continuation lines. */
function flagsAfter(start: RegExp): string[] {
  const m = start.exec(text);
  expect(m, `${SCRIPT} has no line matching ${String(start)}`).not.toBeNull();
  const rest = text.slice(m!.index + m![0].length);
  const command = /^(?:\\\n|[^\n])*/.exec(rest)![0];
  return [...command.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((f) => f[0]);
}

describe('bench/device.sh', () => {
  it('parses (bash -n)', () => {
    const r = sh('bash', '-n', SCRIPT);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('prints its usage with --help and creates no results folder', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'device-sh-')), 'results');
    const r = sh('bash', SCRIPT, '--out', out, '--help');
    expect(r.status).toBe(0);
    expect(existsSync(out)).toBe(false);
    for (const part of [
      '--out DIR',
      '--budget',
      'bench conv',
      'bench:peers',
      'train',
      'resnext50-step.ts',
      'summary.md',
    ])
      expect(r.stdout).toContain(part);
  });

  it('rejects an unknown argument and a bad budget before doing anything', () => {
    const unknown = sh('bash', SCRIPT, '--iterations', '3');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown argument '--iterations'");
    const budget = sh('bash', SCRIPT, '--budget', 'soon');
    expect(budget.status).toBe(2);
    expect(budget.stderr).toContain("--budget 'soon'");
  });

  it('passes resnext train, bench conv and roofline only options they have', () => {
    const cases: [RegExp[], string[], string[]][] = [
      [
        [
          /run_logged [^\n]* node bin\/resnext\.js bench conv/,
          /args=\((?=--iterations 10)/,
          /args=\((?=--iterations 1 )/,
        ],
        ['bench', 'conv', '--help'],
        ['--iterations', '--json', '--no-baseline'],
      ],
      [
        [/run_logged [^\n]* node bin\/resnext\.js train/],
        ['train', '--help'],
        ['--train-limit', '--epochs', '--batch-size', '--test-limit', '--out'],
      ],
      [[/timeout \d+ node bin\/resnext\.js bench roofline/], ['bench', 'roofline', '--help'], ['--measured']],
    ];
    for (const [lines, help, expected] of cases) {
      const flags = lines.flatMap(flagsAfter);
      expect(flags).toEqual(expect.arrayContaining(expected));
      const r = sh(process.execPath, 'bin/resnext.js', ...help);
      expect(r.status).toBe(0);
      for (const flag of flags) expect(r.stdout, `${help.join(' ')} lacks ${flag}`).toContain(`${flag} `);
    }
  });

  it('passes bench:peers only options it has, tfjs and ort-web among its contenders', () => {
    const flags = [...flagsAfter(/args=\((?=--quick)/), ...flagsAfter(/args\+=\((?=--shapes)/)];
    expect(flags).toEqual(['--quick', '--contenders', '--out', '--shapes']);
    for (const flag of flags) expect(PEERS_USAGE).toContain(`${flag} `);
    expect(PEERS_USAGE).toMatch(/tfjs-webgpu.*ort-web/s);
  });
});

describe('bench/resnext50-step.ts', () => {
  it('prints its usage with --help, without a device, listing the options device.sh passes', () => {
    const r = sh(TSX, STEP, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--batch N .*default 32/);
    const passed = [...flagsAfter(/args=\((?=--json)/), ...flagsAfter(/args\+=\((?=--steps)/)];
    expect(passed).toEqual(expect.arrayContaining(['--json', '--steps', '--tune']));
    for (const flag of passed) expect(r.stdout).toContain(`${flag} `);
  });

  it('rejects sizes that leave stage 4 one value per channel, and bad numbers', () => {
    const tiny = sh(TSX, STEP, '--batch', '1', '--size', '32');
    expect(tiny.status).toBe(1);
    expect(tiny.stderr).toContain('one value per channel');
    const zero = sh(TSX, STEP, '--steps', '0');
    expect(zero.status).toBe(1);
    expect(zero.stderr).toContain("--steps '0' must be a positive integer");
  });
});
