// The training loop's parts, each on its own: the metrics writer, the checkpoint policy
// and the read-back pipeline (train.test.ts and cli.test.ts run them together).
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DisposedTensorError, Generator, tensor } from '../src/index.js';
import { SGD } from '../src/optim/sgd.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { CheckpointPolicy, stopBeforeFirstStep } from '../src/train/checkpoint-policy.js';
import { DEFAULTS } from '../src/train/config.js';
import { MetricsLog, type EpochMetrics } from '../src/train/metrics.js';
import { ReadBack, type StepNumbers } from '../src/train/readback.js';
import { createModel } from '../src/train/trainer.js';
import { tinyDataset } from './tiny-data.js';

const dir = () => mkdtempSync(join(tmpdir(), 'parts-'));
const epochLine = (epoch: number, step: number): EpochMetrics => ({
  kind: 'epoch',
  epoch,
  step,
  lr: 0.1,
  trainLoss: 1,
  trainError: 0.5,
  testLoss: 1,
  testError: 0.5,
  testImages: 64,
  imagesPerSecond: 10,
  seconds: 1,
});

describe('metrics writer', () => {
  it('logs every tenth step and every epoch, one JSON line each, in order', async () => {
    const out = dir();
    const log = await MetricsLog.open(out);
    await log.write();
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe('');
    for (let step = 1; step <= 25; step++) log.step({ epoch: 1, step, lr: 0.1, loss: step / 100 });
    log.epoch(epochLine(1, 25));
    await log.write();
    const text = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[0]).toBe('{"kind":"step","epoch":1,"step":10,"lr":0.1,"loss":0.1}');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step: number });
    expect(lines.map((m) => [m.kind, m.step])).toEqual([
      ['step', 10],
      ['step', 20],
      ['epoch', 25],
    ]);
    expect(log.epochs).toEqual([epochLine(1, 25)]);
  });

  it('resumed, keeps what came before the checkpoint and drops what came after it', async () => {
    const out = dir();
    const lines = [
      { kind: 'step', epoch: 1, step: 10, lr: 0.1, loss: 1 },
      epochLine(1, 15),
      { kind: 'step', epoch: 2, step: 20, lr: 0.1, loss: 1 },
      { kind: 'step', epoch: 2, step: 30, lr: 0.1, loss: 1 },
      epochLine(2, 30),
    ];
    writeFileSync(join(out, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const log = await MetricsLog.open(out, { step: 25, epoch: 1 });
    expect(log.steps.map((m) => m.step)).toEqual([10, 20]);
    expect(log.epochs.map((m) => m.epoch)).toEqual([1]);
    expect((await MetricsLog.open(dir(), { step: 25, epoch: 1 })).epochs).toEqual([]); // no file yet
  });

  it('draws the curves from what it logged', async () => {
    const out = dir();
    const log = await MetricsLog.open(out);
    log.step({ epoch: 1, step: 10, lr: 0.1, loss: 2 });
    log.epoch(epochLine(1, 10));
    await log.writeCurves();
    expect(readFileSync(join(out, 'error.svg'), 'utf8')).toMatch(/^<svg[\s\S]*train[\s\S]*test/);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toContain('train loss');
  });
});

describe('checkpoint policy', () => {
  it('asks shouldStop once after every step, and stops for it or for the signal', () => {
    let asked = 0;
    let answer = false;
    const controller = new AbortController();
    const policy = new CheckpointPolicy('x', { shouldStop: () => (asked++, answer), signal: controller.signal }, 3);
    expect([policy.stopsAfterStep(), policy.stopping, asked]).toEqual([false, false, 1]);
    answer = true;
    expect([policy.stopsAfterStep(), policy.stopping, asked]).toEqual([true, false, 2]);
    answer = false;
    controller.abort();
    expect([policy.stopsAfterStep(), policy.stopping, asked]).toEqual([true, true, 3]);
    expect(new CheckpointPolicy('x', {}, 3).stopsAfterStep()).toBe(false);
  });

  it('stops after an epoch only for the signal, and not after the last epoch', () => {
    const controller = new AbortController();
    const policy = new CheckpointPolicy('x', { shouldStop: () => true, signal: controller.signal }, 3);
    expect(policy.stopsAfterEpoch(1)).toBe(false); // shouldStop is asked after steps only
    controller.abort();
    expect([1, 2, 3].map((e) => policy.stopsAfterEpoch(e))).toEqual([true, true, false]);
  });

  it('places a stop inside an epoch at that epoch’s start, with the steps taken in it', () => {
    const partial = { steps: 3, seen: 48, lossSum: 30, wrong: 20 };
    expect(CheckpointPolicy.stepPosition(2, 7, [1, 2], partial)).toEqual({
      epoch: 1,
      step: 7,
      rngState: [1, 2],
      partial,
    });
    expect(CheckpointPolicy.epochPosition(2, 8, [3])).toEqual({ epoch: 2, step: 8, rngState: [3] });
  });

  it('writes the checkpoint atomically, and says whether one is kept', async () => {
    const out = dir();
    const path = join(out, 'last.safetensors');
    const policy = new CheckpointPolicy(path, {}, 1);
    expect(policy.describeKept()).toBe('no checkpoint had been written yet');
    const config = { ...DEFAULTS, batchSize: 16 };
    const model = createModel(config, tinyDataset(), new Generator(1));
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    await policy.save(config, model, optimizer, CheckpointPolicy.epochPosition(1, 5, new Generator(2).getState()));
    expect(readdirSync(out)).toEqual(['last.safetensors']); // no temporary file left
    expect((await readCheckpoint(path)).position).toMatchObject({ epoch: 1, step: 5 });
    expect(policy.describeKept()).toBe(`the last good checkpoint (${path}) is kept`);
    model.dispose();
  });

  it('a stop before the first step leaves a new run no trace, and a resumed one as it was', async () => {
    const out = dir();
    const logged: string[] = [];
    for (const f of ['metrics.jsonl', 'config.json']) writeFileSync(join(out, f), '');
    const files = ['metrics.jsonl', 'config.json'];
    await stopBeforeFirstStep(out, { isNew: false, resumed: true, checkpointPath: 'c' }, files, (l) => logged.push(l));
    expect(files.map((f) => existsSync(join(out, f)))).toEqual([true, true]);
    await stopBeforeFirstStep(out, { isNew: true, resumed: false, checkpointPath: 'c' }, files, (l) => logged.push(l));
    expect(files.map((f) => existsSync(join(out, f)))).toEqual([false, false]);
    expect(logged).toEqual([
      'stopped before the first step; nothing trained, c as it was',
      'stopped before the first step; nothing trained',
    ]);
  });
});

describe('read-back pipeline', () => {
  const info = (step: number) => ({ labels: Uint8Array.of(step), size: 1, step, lr: 0.1 });
  const outputs = (loss: number) => ({ loss: tensor([loss]), logits: tensor([loss, -loss], [1, 2]) });

  it('hands on each step’s numbers once the next step is pushed, in order, and disposes the tensors', async () => {
    const got: StepNumbers[] = [];
    const readBack = new ReadBack((n) => got.push(n));
    await readBack.settle(); // nothing in flight
    const first = outputs(1.5);
    await readBack.push(first, info(1));
    expect(got).toEqual([]);
    expect(readBack.inFlight).toBe(true);
    await readBack.push(outputs(2.5), info(2));
    expect(got.map((n) => [n.step, n.loss, Array.from(n.logits)])).toEqual([[1, 1.5, [1.5, -1.5]]]);
    expect(first.loss.isDisposed && first.logits.isDisposed).toBe(true);
    await readBack.settle();
    expect(got.map((n) => [n.step, n.loss, n.labels[0]])).toEqual([
      [1, 1.5, 1],
      [2, 2.5, 2],
    ]);
    expect(readBack.inFlight).toBe(false);
  });

  it('what the consumer throws (a NaN loss) comes out of the next push or settle', async () => {
    const readBack = new ReadBack((n) => {
      if (!Number.isFinite(n.loss)) throw new Error(`loss ${n.loss} at step ${n.step}`);
    });
    await readBack.push(outputs(NaN), info(1));
    await expect(readBack.push(outputs(1), info(2))).rejects.toThrow('loss NaN at step 1');
    const again = new ReadBack(() => {
      throw new Error('diverged');
    });
    await again.push(outputs(1), info(1));
    await expect(again.settle()).rejects.toThrow('diverged');
  });

  it('a read that fails is no unhandled rejection while it waits, and settle() throws its error', async () => {
    const readBack = new ReadBack(() => undefined);
    const gone = outputs(1);
    gone.loss.dispose(); // its read fails, as on a lost device
    await readBack.push(gone, info(1));
    await new Promise((resolve) => setTimeout(resolve, 20)); // vitest reports unhandled rejections
    await expect(readBack.settle()).rejects.toThrow(DisposedTensorError);
  });
});
