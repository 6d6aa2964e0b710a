// The CLI as a user runs it: a separate process that must exit by itself.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { QUICK } from '../src/train/config.js';

const BIN = new URL('../bin/resnext.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

/** Runs the CLI and sends it a SIGINT each time its output (stdout and stderr) first
 *  matches the next of `cues`; resolves when it has ended, with how it ended. */
async function interrupted(args: string[], cues: RegExp[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  let out = '';
  let err = '';
  let sent = 0;
  const onOutput = () => {
    while (sent < cues.length && cues[sent].test(out + err)) {
      sent++;
      child.kill('SIGINT');
    }
  };
  child.stdout.on('data', (d) => ((out += d), onOutput()));
  child.stderr.on('data', (d) => ((err += d), onOutput()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(killer);
  return { code, signal, out, err, sent };
}

/** The checkpoint must hold the position that the run said it stopped at. */
async function expectCheckpointAsReported(dir: string, out: string) {
  const midEpoch = out.match(/stopped at step (\d+) \(epoch (\d+), (\d+) steps in\); checkpoint written/);
  const atEpochEnd = out.match(/stopped after epoch (\d+) \(step (\d+)\); checkpoint written/);
  expect(midEpoch ?? atEpochEnd, out).not.toBeNull();
  const { position, model } = await readCheckpoint(join(dir, 'last.safetensors'));
  if (midEpoch)
    expect([position.step, position.epoch, position.partial?.steps]).toEqual([
      Number(midEpoch[1]),
      Number(midEpoch[2]) - 1,
      Number(midEpoch[3]),
    ]);
  else
    expect([position.epoch, position.step, position.partial]).toEqual([
      Number(atEpochEnd![1]),
      Number(atEpochEnd![2]),
      undefined,
    ]);
  expect(Object.keys(model).length).toBeGreaterThan(10);
}

describe('resnext CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const command of ['demo', 'device', 'bench', 'info', 'train', 'eval', 'compare'])
      expect(r.stdout).toContain(command);
  });

  it('unknown commands and bad values exit non-zero with one line, no stack trace', () => {
    for (const args of [
      ['bogus'],
      ['demo', '--steps', '0'],
      ['bench', 'conv', '--shape', '1,2'],
      ['bench', 'conv', '--mode', 'sideways'],
      ['info', 'resnet5'],
      ['info', 'resnet50', '--input', '3x0x1'],
      ['train', '--lr', '-1'],
      ['train', '--lr', 'abc'],
      ['train', '--model', 'resnet5', '--out', '/tmp/never-made'],
      ['train', '--dataset', 'imagenet', '--out', '/tmp/never-made'],
      ['eval'],
      ['compare', '--models', 'small_resnext,nope'],
    ]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('train refuses a run directory that holds another run and names the way out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-run-'));
    writeFileSync(join(dir, 'config.json'), '{}');
    const r = run('train', '--out', dir, '--epochs', '1');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/already holds a run; pass --resume to continue it or --force to start over/);
  });

  it('Ctrl-C during training finishes the step, writes a checkpoint and exits 130, however often it is pressed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-sigint-'));
    // The first Ctrl-C once a step has run; the second while that step finishes and its
    // checkpoint is written (it once quit at once here, losing the steps); the third while
    // the process exits (it once killed the process by the signal here).
    const r = await interrupted(
      ['train', '--quick', '--batch-size', '8', '--out', dir],
      [/^epoch \d+ \d+\//m, /stopping after this step/, /interrupted; continue with/],
    );
    expect([r.code, r.signal], r.err).toEqual([130, null]);
    await expectCheckpointAsReported(dir, r.out);
    expect(r.sent, r.out + r.err).toBe(3);
    expect(r.out).toContain(`interrupted; continue with: resnext train --out ${dir} --resume`);
    // --quick's recipe stands where no flag overrides it (no augmentation).
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({
      augment: false,
      trainLimit: QUICK.trainLimit,
    });
  }, 300_000);

  it('Ctrl-C before training starts exits 130 without training, pressed once or twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-sigint-early-'));
    // "adapter:" comes once the device is up, before the dataset loads and the first step.
    const r = await interrupted(['train', '--quick', '--batch-size', '8', '--out', dir], [/^adapter: /m, /stopping/]);
    expect([r.code, r.signal], r.err).toEqual([130, null]);
    if (/stopping before training starts/.test(r.err)) {
      expect(r.out).not.toMatch(/^epoch \d+ \d+\//m);
      expect(existsSync(join(dir, 'last.safetensors'))).toBe(false);
    } else await expectCheckpointAsReported(dir, r.out); // this machine was slow to send it: a step had run
  }, 300_000);

  it('demo trains and exits by itself', () => {
    const r = run('demo', '--steps', '30');
    expect(r.status).toBe(0);
    const losses = [...r.stdout.matchAll(/step +\d+ +loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
  });

  it("info reproduces the paper's Table 1 line: ResNet-50 vs ResNeXt-50 (32x4d)", () => {
    const r = run('info', 'resnet50', '--compare', 'resnext50_32x4d');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\| total +\| +\| 25\.56M +\| 4\.09G +\| +\| 25\.03M +\| 4\.23G +\|/);
    expect(r.stdout).toContain(
      'resnext50_32x4d at 3x224x224: 25,028,904 parameters, 4,230,479,872 multiply-accumulates per image',
    );
    expect(run('info', 'nope').stderr).toContain('valid names: resnet50, resnet101, resnext50_32x4d');
  });

  it('bench conv --profile prints GPU time per kernel entry', () => {
    // A 5x5 kernel of stride 2 on groups of 3 channels keeps every role on kernels/conv2d.wgsl
    // whatever the adapter's subgroups (no other variant takes it).
    const r = run('bench', 'conv', '--shape', '1,6,6,6,2,5,2', '--profile');
    expect(r.status).toBe(0);
    for (const entry of ['conv2d:forward', 'conv2d:grad_input', 'conv2d:grad_weight', 'conv2d:pack_weights'])
      expect(r.stdout).toContain(entry);
  });

  it('bench roofline prints the least time per shape for a given machine, and rejects a bad rate', () => {
    const r = run('bench', 'roofline', '--tflops', '10', '--bandwidth', '1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('10 TFLOP/s FP32, 1 TB/s');
    expect(r.stdout).toMatch(/\| resnext50 stage1 +\| 0\.23 +\| 25\.7 +\| 9 +\| memory +\| 25\.7 +\| 51\.4 /);
    const bad = run('bench', 'roofline', '--tflops', '-1');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/'-1' is not a positive number/);
  });

  it('bench conv prints the table for a custom shape and exits', () => {
    const r = run('bench', 'conv', '--shape', '1,8,6,6,2', '--iterations', '1');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\| custom 1,8,6,6,2: N=1 C=8 6x6 g2 +\| forward/);
    expect(r.stdout).toContain('adapter:');
  });
});
