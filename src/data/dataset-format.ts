// Datasets as bytes, with no file system: the types every loader shares, the binary layout
// of the splits (the Node loader's cache file, src/data/datasets.ts) and the bundle that
// the web app's dev server sends a page (the splits plus the rest of a Dataset), so that
// Node and pages decode the same bytes with the same code.
import { concatBytes } from '../bytes.js';
import { ResnextError } from '../errors.js';

export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  name: DatasetName;
  /** [C, H, W] of one image. */
  shape: [number, number, number];
  classes: string[];
  train: Split;
  test: Split;
  /** Per-channel mean and standard deviation of the training images, in [0, 1] units. */
  mean: number[];
  std: number[];
  /** Augmentation that suits the images: random-crop padding, and whether to flip. */
  augment: { pad: number; flip: boolean };
}

export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** [C, H, W] of one image of each dataset. */
export const DATASET_SHAPES: Record<DatasetName, [number, number, number]> = {
  'fashion-mnist': [1, 28, 28],
  mnist: [1, 28, 28],
  cifar10: [3, 32, 32],
};

export class DatasetError extends ResnextError {}

// ---- the splits: the loader's cache file ---------------------------------------------------

const MAGIC = 0x53445852; // "RXDS"
const VERSION = 2;
const HEADER_BYTES = 32;

/** Layout: u32 magic, version, train count, test count, C, H, W, checksum; then train
 *  labels, test labels, train images, test images. The checksum is FNV-1a over the data. */
export function encodeSplits(shape: readonly number[], train: Split, test: Split): Uint8Array {
  const data = concatBytes([train.labels, test.labels, train.images, test.images]);
  const header = new Uint32Array([MAGIC, VERSION, train.count, test.count, ...shape, fnv1a(data)]);
  return concatBytes([new Uint8Array(header.buffer), data]);
}

/** The splits of encodeSplits' bytes, or null when they are not splits of images of `shape`
 *  (another format or version, truncated, or corrupt). */
export function decodeSplits(bytes: Uint8Array, shape: readonly number[]): { train: Split; test: Split } | null {
  if (bytes.length < HEADER_BYTES) return null;
  const header = new Uint32Array(bytes.slice(0, HEADER_BYTES).buffer);
  const [magic, version, trainCount, testCount, C, H, W, checksum] = header;
  const size = C * H * W;
  if (magic !== MAGIC || version !== VERSION || [C, H, W].join() !== shape.join()) return null;
  if (bytes.length !== HEADER_BYTES + (trainCount + testCount) * (1 + size)) return null;
  const data = bytes.subarray(HEADER_BYTES);
  if (fnv1a(data) !== checksum) return null;
  let at = 0;
  const take = (n: number) => data.subarray(at, (at += n));
  const trainLabels = take(trainCount);
  const testLabels = take(testCount);
  return {
    train: { labels: trainLabels, images: take(trainCount * size), count: trainCount },
    test: { labels: testLabels, images: take(testCount * size), count: testCount },
  };
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h >>> 0;
}

// ---- the bundle a page receives ------------------------------------------------------------

const BUNDLE_MAGIC = 0x42445852; // "RXDB"

/** How many images of each split to send: the first ones (the JSON sets interleave their
 *  classes, so every prefix is balanced); absent sends the whole split. */
export interface BundleLimits {
  train?: number;
  test?: number;
}

type BundleMeta = Omit<Dataset, 'train' | 'test'>;

/** u32 magic, u32 length of a JSON header (name, shape, classes, mean, std, augment; padded
 *  with spaces to whole words), the header, then encodeSplits of the limited splits. The
 *  statistics stay those of the whole training split, as the CLI normalises with them. */
export function encodeDatasetBundle(dataset: Dataset, limits: BundleLimits = {}): Uint8Array {
  const { name, shape, classes, mean, std, augment } = dataset;
  const meta: BundleMeta = { name, shape, classes, mean, std, augment };
  let json = JSON.stringify(meta);
  json += ' '.repeat((4 - (json.length % 4)) % 4);
  const header = new TextEncoder().encode(json);
  const size = shape[0] * shape[1] * shape[2];
  const splits = encodeSplits(
    shape,
    prefix(dataset.train, limits.train, size),
    prefix(dataset.test, limits.test, size),
  );
  return concatBytes([new Uint8Array(Uint32Array.of(BUNDLE_MAGIC, header.length).buffer), header, splits]);
}

/** The Dataset in encodeDatasetBundle's bytes; throws a DatasetError naming what is wrong. */
export function decodeDatasetBundle(bytes: Uint8Array, source = 'dataset bundle'): Dataset {
  const [magic, headerLength] = bytes.length >= 8 ? new Uint32Array(bytes.slice(0, 8).buffer) : [0, 0];
  if (magic !== BUNDLE_MAGIC || 8 + headerLength > bytes.length)
    throw new DatasetError(`${source} is not a dataset bundle of this project (${bytes.length} bytes)`);
  let meta: BundleMeta;
  try {
    meta = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    ) as BundleMeta;
  } catch (e) {
    throw new DatasetError(`${source} has a header that is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  const splits = decodeSplits(bytes.subarray(8 + headerLength), meta.shape);
  if (!splits) throw new DatasetError(`${source}: the images of ${meta.name} are truncated or corrupt`);
  return { ...meta, ...splits };
}

function prefix(split: Split, limit: number | undefined, size: number): Split {
  const count = Math.min(limit ?? split.count, split.count);
  return { images: split.images.subarray(0, count * size), labels: split.labels.subarray(0, count), count };
}
