import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError, Generator, nn } from '../src/index.js';
import { tinyDataset } from './tiny-data.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../src/train/config.js';
import { compare } from '../src/train/compare.js';
import { createModel, train, TrainingDivergedError } from '../src/train/trainer.js';

const tinyConfig: TrainConfig = { ...DEFAULTS, epochs: 2, batchSize: 16, lr: 0.02, warmupEpochs: 0, schedule: 'step' };
const runDir = () => mkdtempSync(join(tmpdir(), 'run-'));
const lines = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; step: number; loss?: number; trainLoss?: number });

describe('compare', () => {
  it('trains both models over the seeds and writes one figure and a table', async () => {
    const dir = runDir();
    const { rows, table } = await compare(
      ['small_resnext', 'small_resnet'],
      { ...tinyConfig, epochs: 1 },
      { outDir: dir, seeds: 2, dataset: tinyDataset() },
    );
    expect(rows.map((r) => [r.model, r.finalTestError.length])).toEqual([
      ['small_resnext', 2],
      ['small_resnet', 2],
    ]);
    expect(rows[0].params).toBe(249_322 - 10 * 256 + 2 * 256 - 10 + 2); // a 2-class head
    expect(table).toMatch(/\| small_resnext \| 247,266 \| [\d.]+M \| [\d.]+% ± [\d.]+ \|/);
    const svg = readFileSync(join(dir, 'compare.svg'), 'utf8');
    for (const label of ['small_resnext train', 'small_resnext test', 'small_resnet train', 'small_resnet test'])
      expect(svg).toContain(label);
    expect(existsSync(join(dir, 'small_resnet-seed1', 'last.safetensors'))).toBe(true);
  }, 300_000);
});

describe('training', () => {
  it('writes the run directory, and stopping after epoch 1 then resuming gives the same losses as running straight through', async () => {
    const straight = runDir();
    const a = (await train(tinyConfig, { outDir: straight, dataset: tinyDataset() })).epochs;
    for (const f of ['config.json', 'metrics.jsonl', 'error.svg', 'loss.svg', 'last.safetensors'])
      expect(existsSync(join(straight, f)), f).toBe(true);
    expect(readFileSync(join(straight, 'error.svg'), 'utf8')).toMatch(/^<svg[^>]*>[\s\S]*<path d="M/);

    const interrupted = runDir();
    await train(tinyConfig, { outDir: interrupted, dataset: tinyDataset(), stopAfterEpoch: 1 });
    expect((await readCheckpoint(join(interrupted, 'last.safetensors'))).position.epoch).toBe(1);
    const b = (await train(tinyConfig, { outDir: interrupted, dataset: tinyDataset(), resume: true })).epochs;
    expect(b.map((m) => [m.trainLoss, m.testLoss, m.testError])).toEqual(
      a.map((m) => [m.trainLoss, m.testLoss, m.testError]),
    );
    expect(lines(interrupted).map((m) => [m.kind, m.step, m.loss ?? m.trainLoss])).toEqual(
      lines(straight).map((m) => [m.kind, m.step, m.loss ?? m.trainLoss]),
    );
  }, 300_000);

  it('a stop in the middle of an epoch (Ctrl-C) checkpoints that step, and resuming matches the straight run', async () => {
    const straight = runDir();
    const a = (await train(tinyConfig, { outDir: straight, dataset: tinyDataset() })).epochs;
    const dir = runDir();
    let steps = 0;
    const stopped = await train(tinyConfig, { outDir: dir, dataset: tinyDataset(), shouldStop: () => ++steps === 2 });
    expect(stopped.interrupted).toBe(true);
    const position = (await readCheckpoint(join(dir, 'last.safetensors'))).position;
    expect([position.epoch, position.step, position.partial?.steps]).toEqual([0, 2, 2]);
    const b = (await train(tinyConfig, { outDir: dir, dataset: tinyDataset(), resume: true })).epochs;
    expect(b.map((m) => [m.epoch, m.trainLoss, m.trainError, m.testLoss])).toEqual(
      a.map((m) => [m.epoch, m.trainLoss, m.trainError, m.testLoss]),
    );
  }, 300_000);

  it('evaluates the epochs before the last on the test limit, and the last on the whole test split', async () => {
    const dir = runDir();
    const { epochs } = await train({ ...tinyConfig, epochs: 3, testLimit: 5 }, { outDir: dir, dataset: tinyDataset() });
    expect(epochs.map((m) => m.testImages)).toEqual([5, 5, 16]);
    const logged = lines(dir).filter((m) => m.kind === 'epoch') as unknown as { testImages: number }[];
    expect(logged.map((m) => m.testImages)).toEqual([5, 5, 16]);
  }, 300_000);

  it('refuses a run directory that holds another run, unless forced', async () => {
    const dir = runDir();
    await train({ ...tinyConfig, epochs: 1 }, { outDir: dir, dataset: tinyDataset() });
    await expect(train({ ...tinyConfig, epochs: 1 }, { outDir: dir, dataset: tinyDataset() })).rejects.toThrow(
      /already holds a run; pass --resume to continue it or --force/,
    );
    expect(
      (await train({ ...tinyConfig, epochs: 1 }, { outDir: dir, dataset: tinyDataset(), force: true })).epochs,
    ).toHaveLength(1);
  }, 300_000);

  it('stops when the loss turns NaN, naming the step and keeping the last good checkpoint', async () => {
    const dir = runDir();
    await train({ ...tinyConfig, epochs: 1 }, { outDir: dir, dataset: tinyDataset() });
    const before = readFileSync(join(dir, 'last.safetensors'));
    await expect(
      train(
        { ...tinyConfig, epochs: 2, lr: 1e30, schedule: 'constant' },
        { outDir: dir, dataset: tinyDataset(), force: true },
      ),
    ).rejects.toThrow(TrainingDivergedError);
    await expect(
      train(
        { ...tinyConfig, epochs: 2, lr: 1e30, schedule: 'constant' },
        { outDir: dir, dataset: tinyDataset(), force: true },
      ),
    ).rejects.toThrow(/loss became (NaN|Infinity|-Infinity) at step \d+ \(epoch 1\)/);
    expect(readFileSync(join(dir, 'last.safetensors')).equals(before)).toBe(true);
  }, 300_000);

  it('bad configuration: unknown names list the valid ones, non-positive learning rates are refused', () => {
    expect(() => validateConfig({ ...DEFAULTS, model: 'resnet5' as never })).toThrow(
      /'resnet5' is not a model; valid names: resnet50, /,
    );
    expect(() => validateConfig({ ...DEFAULTS, dataset: 'imagenet' as never })).toThrow(
      /valid names: fashion-mnist, mnist, cifar10/,
    );
    for (const lr of [0, -0.1, NaN]) expect(() => validateConfig({ ...DEFAULTS, lr })).toThrow(ArgumentError);
    expect(() => createModel({ ...DEFAULTS, model: 'resnext29_8x64d' }, tinyDataset(), new Generator(0))).toThrow(
      /takes 3-channel images but fashion-mnist has 1/,
    );
  });

  it('a checkpoint from another model is refused, naming the keys and shapes that differ', async () => {
    const dir = runDir();
    await train({ ...tinyConfig, epochs: 1 }, { outDir: dir, dataset: tinyDataset() });
    const ckpt = await readCheckpoint(join(dir, 'last.safetensors'));
    const other = createModel({ ...DEFAULTS, model: 'small_resnet' }, tinyDataset(), new Generator(0));
    expect(() => other.loadStateDict(ckpt.model)).toThrow(nn.StateDictError);
    expect(() => other.loadStateDict(ckpt.model)).toThrow(
      /shape mismatches: layer1\.0\.conv1\.weight: checkpoint \[32, 32, 1, 1\], model \[18, 32, 1, 1\]/,
    );
  }, 300_000);
});
