// The way out to PyTorch (examples/ddp): a checkpoint of ours loads into the torch.nn twin,
// which computes the same logits; torchrun trains it with DDP on two ranks whose parameters
// stay equal; and `resnext eval` reads what rank 0 wrote. Needs the venv that
// scripts/setup-torch.sh makes: without it the suite skips, except in CI, where it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Generator, noGrad, tensor } from '../src/index.js';
import { encodeSplits, type Dataset, type Split } from '../src/data/dataset-format.js';
import { loadDataset } from '../src/data/datasets.js';
import { batches } from '../src/data/loader.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { createModel, train } from '../src/train/trainer.js';

const ROOT = new URL('..', import.meta.url).pathname;
const VENV = join(ROOT, '.venv-torch', 'bin');
const SCRIPT = join(ROOT, 'examples', 'ddp', 'train.py');
const BIN = join(ROOT, 'bin', 'resnext.js');
const haveTorch = existsSync(join(VENV, 'python'));
const inCI = Boolean(process.env.CI);
if (!haveTorch && !inCI)
  console.warn('test/ddp.test.ts: skipped, no .venv-torch/; run `bash scripts/setup-torch.sh` to run it');

const run = (command: string, args: string[], timeout = 150_000) => {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout });
  return { ...r, all: `${r.stdout}\n${r.stderr}` };
};

/** The first `count` images of a split (the JSON sets interleave classes: balanced prefixes). */
const prefix = (split: Split, count: number, size: number): Split => ({
  images: split.images.subarray(0, count * size),
  labels: split.labels.subarray(0, count),
  count,
});

describe.skipIf(!haveTorch && !inCI)('PyTorch DDP round trip (examples/ddp)', () => {
  it('the twin matches our logits, DDP trains on 2 ranks with equal weights, and `resnext eval` reads the result', async () => {
    if (!haveTorch) throw new Error('CI must run this: .venv-torch/ is missing; run `bash scripts/setup-torch.sh`');
    const full = await loadDataset('fashion-mnist', { cacheDir: join(ROOT, '.cache') });
    const dir = mkdtempSync(join(tmpdir(), 'ddp-'));
    try {
      await roundTrip(dir, full);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

/** The four steps, in `dir`. Both sides read one small cache of real Fashion-MNIST images
 *  (256 train, 256 test) and normalise with its training split's statistics. */
async function roundTrip(dir: string, full: Dataset): Promise<void> {
  const cacheDir = join(dir, 'cache');
  mkdirSync(cacheDir);
  const data = join(cacheDir, 'fashion-mnist.bin');
  writeFileSync(data, encodeSplits(full.shape, prefix(full.train, 256, 784), prefix(full.test, 256, 784)));
  const dataset = await loadDataset('fashion-mnist', { cacheDir });

  // (1) A checkpoint of ours: 8 steps of small_resnext.
  const config: TrainConfig = { ...DEFAULTS, epochs: 1, batchSize: 32, warmupEpochs: 0, schedule: 'constant' };
  const outDir = join(dir, 'run');
  await train(config, { outDir, dataset, cacheDir, tune: false, log: () => undefined });
  const init = join(outDir, 'last.safetensors');
  const before = await readCheckpoint(init);
  expect(before.position.step).toBe(8);

  // (2) The twin's eval-mode logits for the first 4 test images, against our engine's.
  const model = createModel(before.config, dataset, new Generator(0));
  model.loadStateDict(before.model, { strict: true });
  model.eval();
  const [batch] = batches(dataset, dataset.test, { batchSize: 4, train: false, generator: new Generator(0) });
  const out = noGrad(() => model.forward(tensor(batch.x, [4, ...dataset.shape])));
  const ours = await out.toArray();
  out.dispose();
  const check = run(join(VENV, 'python'), [SCRIPT, '--init', init, '--data', data, '--check-logits', '4']);
  expect(check.status, check.all).toBe(0);
  const theirs = JSON.parse(check.stdout.match(/^LOGITS (.*)$/m)![1]) as number[];
  expect(theirs.length).toBe(40);
  const diff = Math.max(...theirs.map((v, i) => Math.abs(v - ours[i])));
  console.log(`ddp: largest |torch - ours| logit difference ${diff.toExponential(2)}`);
  expect(diff).toBeLessThan(1e-4);
  expect(Math.max(...ours) - Math.min(...ours)).toBeGreaterThan(0.1); // not a degenerate model

  // (3) Four DDP steps on two ranks.
  const ckpt2 = join(dir, 'ddp.safetensors');
  const ddp = run(join(VENV, 'torchrun'), [
    '--standalone',
    '--nproc_per_node=2',
    SCRIPT,
    ...['--init', init, '--out', ckpt2, '--data', data, '--steps', '4'],
  ]);
  expect(ddp.status, ddp.all).toBe(0);
  expect(ddp.stdout).toMatch(/parameters equal across 2 ranks: True/);
  console.log(ddp.stdout.trim());
  const torchLoss = Number(ddp.stdout.match(/test \(256 images\): loss ([\d.]+)/)![1]);

  // (4) Our engine evaluates what rank 0 wrote: the same test loss, and the weights moved.
  const evaluated = run(process.execPath, [BIN, 'eval', '--checkpoint', ckpt2, '--cache-dir', cacheDir]);
  expect(evaluated.status, evaluated.all).toBe(0);
  const m = evaluated.stdout.match(/test \(256 images\): loss ([\d.]+), top-1 error ([\d.]+)%/);
  expect(m, evaluated.all).not.toBeNull();
  console.log(`ddp: resnext eval of rank 0's checkpoint: loss ${m![1]}, top-1 error ${m![2]}%`);
  expect(Math.abs(Number(m![1]) - torchLoss)).toBeLessThan(2e-3);
  const after = await readCheckpoint(ckpt2);
  expect(after.config).toEqual(before.config);
  expect([after.position.epoch, after.position.step, after.position.partial]).toEqual([1, 12, undefined]);
  expect(after.position.rngState).toEqual(before.position.rngState);
  expect(after.model['layer1.0.bn1.num_batches_tracked']).toBe(12n);
  expect(Object.keys(after.model).sort()).toEqual(Object.keys(before.model).sort());
  const weight = (c: typeof before) => c.model['layer2.0.conv2.weight'] as { data: Float32Array };
  const moved = weight(after).data.reduce((n, v, i) => n + Math.abs(v - weight(before).data[i]), 0);
  expect(moved).toBeGreaterThan(0);
  // Carried in and out: every parameter's buffer is there, and DDP's steps moved each one.
  expect(after.momentum.length).toBe(before.momentum.length);
  const movedBuffers = after.momentum.filter(
    (m, i) => m && before.momentum[i] && m.some((v, j) => v !== before.momentum[i]![j]),
  );
  expect(movedBuffers.length).toBe(before.momentum.filter((m) => m !== null).length);
}
