import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Generator } from '../src/index.js';
import { batches } from '../src/data/loader.js';
import { DatasetError, loadDataset } from '../src/data/datasets.js';

/** A miniature of the fashion-mnist package: 10 class files of 12 images each (0..255 rows). */
function fakeFashionPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-fmnist-'));
  mkdirSync(join(dir, 'src', 'clothes'), { recursive: true });
  for (let c = 0; c < 10; c++) {
    const data = Array.from({ length: 12 }, (_, i) => Array.from({ length: 784 }, (_, p) => (c * 20 + i + p) % 256));
    writeFileSync(join(dir, 'src', 'clothes', `${c}.json`), JSON.stringify({ data }));
  }
  return dir;
}

describe('datasets', () => {
  it('builds the binary cache once, reads it after, and rebuilds a corrupt one with a message', async () => {
    const sourceDir = fakeFashionPackage();
    const cacheDir = mkdtempSync(join(tmpdir(), 'cache-'));
    const messages: string[] = [];
    const log = (m: string) => messages.push(m);
    const first = await loadDataset('fashion-mnist', { sourceDir, cacheDir, log });
    expect(first.train.count).toBe(120); // fewer than 6,000 per class: all of them train
    expect(first.test.count).toBe(0);
    expect(messages.join()).toMatch(/building the fashion-mnist cache/);
    expect(first.shape).toEqual([1, 28, 28]);
    // Classes interleaved: image 0 of class 1 comes second, image 1 of class 0 eleventh.
    expect(Array.from(first.train.labels.slice(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(first.train.images[1 * 784 + 5]).toBe((20 + 0 + 5) % 256);

    messages.length = 0;
    const again = await loadDataset('fashion-mnist', { sourceDir, cacheDir, log });
    expect(messages).toEqual([]);
    expect(again.train.images).toEqual(first.train.images);

    const cache = join(cacheDir, 'fashion-mnist.bin');
    const bytes = readFileSync(cache);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(cache, bytes);
    const rebuilt = await loadDataset('fashion-mnist', { sourceDir, cacheDir, log });
    expect(messages.join()).toMatch(/corrupt .* rebuilding/);
    expect(rebuilt.train.images).toEqual(first.train.images);
  });

  it('the real Fashion-MNIST package splits into 60,000 / 10,000, balanced per class', async () => {
    const d = await loadDataset('fashion-mnist', { cacheDir: '.cache' });
    expect([d.train.count, d.test.count]).toEqual([60000, 10000]);
    const perClass = new Array(10).fill(0);
    d.test.labels.forEach((l) => perClass[l]++);
    expect(perClass).toEqual(new Array(10).fill(1000));
    expect(d.mean[0]).toBeGreaterThan(0.2);
    expect(d.mean[0]).toBeLessThan(0.4);
  }, 120_000);

  it('reads CIFAR-10 binary batches, and names what is missing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cifar-'));
    const record = (label: number, fill: number) => Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, fill)]);
    for (const f of [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
    ])
      writeFileSync(join(dataDir, f), Buffer.concat([record(3, 10), record(7, 20)]));
    writeFileSync(join(dataDir, 'test_batch.bin'), record(9, 30));
    const d = await loadDataset('cifar10', { dataDir });
    expect([d.train.count, d.test.count, d.shape]).toEqual([10, 1, [3, 32, 32]]);
    expect(Array.from(d.train.labels.slice(0, 2))).toEqual([3, 7]);
    expect(d.test.images[3071]).toBe(30);
    await expect(loadDataset('cifar10', { dataDir: join(dataDir, 'nope') })).rejects.toThrow(DatasetError);
    await expect(loadDataset('cifar10', {})).rejects.toThrow(/dataDir/);
    await expect(loadDataset('imagenet')).rejects.toThrow(/valid names: fashion-mnist, mnist, cifar10/);
  });

  it('batches: seeded shuffle repeats, augmentation keeps shapes, evaluation keeps order', async () => {
    const d = await loadDataset('fashion-mnist', {
      sourceDir: fakeFashionPackage(),
      cacheDir: mkdtempSync(join(tmpdir(), 'cache-')),
    });
    const labelsOf = (seed: number) =>
      [...batches(d, d.train, { batchSize: 32, train: true, generator: new Generator(seed) })].map((b) =>
        Array.from(b.labels),
      );
    expect(labelsOf(1)).toEqual(labelsOf(1));
    expect(labelsOf(1)).not.toEqual(labelsOf(2));
    const all = [...batches(d, d.train, { batchSize: 50, train: false, generator: new Generator(0) })];
    expect(all.map((b) => b.size)).toEqual([50, 50, 20]);
    expect(all[0].x.length).toBe(50 * 784);
    // No augmentation in evaluation: pixel (0, 5) of the second image (class 1's first) normalised.
    expect(all[0].x[1 * 784 + 5]).toBeCloseTo((25 / 255 - d.mean[0]) / d.std[0], 5);
    // Without augmentation, training sees exactly the evaluation's images, shuffled; with it, others.
    const imagesOf = (list: Iterable<{ x: Float32Array; size: number }>) =>
      [...list]
        .flatMap((b) => Array.from({ length: b.size }, (_, i) => b.x.subarray(i * 784, (i + 1) * 784).join()))
        .sort();
    const plain = imagesOf(
      batches(d, d.train, { batchSize: 32, train: true, augment: false, generator: new Generator(3) }),
    );
    expect(plain).toEqual(imagesOf(all));
    expect(imagesOf(batches(d, d.train, { batchSize: 32, train: true, generator: new Generator(3) }))).not.toEqual(
      plain,
    );
  });
});
