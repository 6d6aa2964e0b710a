// Faults during training: the device lost mid-run, an unwritable run directory.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceLostError, init, runtime } from '../src/index.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULTS } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { tinyDataset } from './tiny-data.js';

const config = { ...DEFAULTS, epochs: 2, batchSize: 16, lr: 0.02, warmupEpochs: 0 };

describe('faults', () => {
  it('a run directory that cannot be written fails at the start with a clear error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'not-a-dir-')), 'file');
    writeFileSync(file, 'x');
    await expect(train(config, { outDir: join(file, 'run'), dataset: tinyDataset() })).rejects.toThrow(
      /cannot write the run directory .*file\/run/,
    );
  });

  it('losing the device mid-run stops with DeviceLostError and leaves the last checkpoint intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lost-'));
    let steps = 0;
    const run = train(config, {
      outDir: dir,
      dataset: tinyDataset(),
      shouldStop: () => {
        if (++steps === 4) runtime().device.destroy(); // in epoch 2, after epoch 1's checkpoint
        return false;
      },
    });
    await expect(run).rejects.toThrow(DeviceLostError);
    const checkpoint = await readCheckpoint(join(dir, 'last.safetensors'));
    expect(checkpoint.position.epoch).toBe(1);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toContain('"kind":"epoch"');
    await init(); // a new device for whatever runs next in this process
  }, 300_000);
});

describe('killed with SIGKILL', () => {
  it('at random moments, a run always leaves a loadable checkpoint, and --resume carries on', async () => {
    const { spawn, spawnSync } = await import('node:child_process');
    const { existsSync, statSync } = await import('node:fs');
    const script = new URL('./fixtures/train-tiny.ts', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'killed-'));
    let epochs = 0;
    for (let kill = 0; kill < 4; kill++) {
      const path = join(dir, 'last.safetensors');
      const before = existsSync(path) ? statSync(path).mtimeMs : 0;
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, kill === 0 ? 'fresh' : 'resume'], {
        stdio: 'ignore',
      });
      // Once this process has written a checkpoint (pipelines may compile slowly on a cold
      // cache), kill it at a random moment: mid-step, mid-evaluation or mid-write.
      const deadline = Date.now() + 120_000;
      while (!(existsSync(path) && statSync(path).mtimeMs > before) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 1500));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      expect(existsSync(join(dir, 'last.safetensors')), `a checkpoint after kill ${kill}`).toBe(true);
      const position = (await readCheckpoint(join(dir, 'last.safetensors'))).position;
      expect(position.epoch).toBeGreaterThanOrEqual(epochs);
      epochs = position.epoch;
    }
    const finish = spawnSync(process.execPath, ['--import', 'tsx', script, dir, 'resume'], {
      encoding: 'utf8',
      env: { ...process.env, STOP_AFTER: String(epochs + 2) },
    });
    expect(finish.status, finish.stderr).toBe(0);
    const { readdirSync } = await import('node:fs');
    expect(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      'temporary files of killed writes are cleaned up',
    ).toEqual([]);
    expect((await readCheckpoint(join(dir, 'last.safetensors'))).position.epoch).toBe(epochs + 2);
  }, 300_000);
});
