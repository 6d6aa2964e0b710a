// Batches of normalised float32 images with a seeded shuffle and augmentation (random
// crop after zero padding, horizontal flips), prepared on the CPU.
import type { Generator as Random } from '../random.js';
import type { Dataset, Split } from './datasets.js';

export interface Batch {
  /** [size, C, H, W], normalised. */
  x: Float32Array;
  labels: Uint8Array;
  size: number;
}

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle and augment (training); otherwise the split in order, as is. */
  train: boolean;
  /** With train, whether to augment (default true); off, training only shuffles. */
  augment?: boolean;
  generator: Random;
  /** Use only the first `limit` images of the split (the quick mode's subset). */
  limit?: number;
}

/** Training drops a last batch of one image: BatchNorm needs two. */
const MIN_TRAIN_BATCH = 2;

/** Batches in one training pass over `images` images (what batches() yields). */
export function trainBatchCount(images: number, batchSize: number): number {
  return Math.floor(images / batchSize) + (images % batchSize >= MIN_TRAIN_BATCH ? 1 : 0);
}

/** Batches of one pass over a split. Training drops a last batch of one image (BatchNorm needs two). */
export function* batches(
  dataset: Dataset,
  split: Split,
  { batchSize, train, augment = true, generator, limit }: LoaderOptions,
): Generator<Batch> {
  const count = Math.min(limit ?? split.count, split.count);
  const order = train ? generator.permutation(count) : Array.from({ length: count }, (_, i) => i);
  const [C, H, W] = dataset.shape;
  const size = C * H * W;
  for (let start = 0; start < count; start += batchSize) {
    const indices = order.slice(start, start + batchSize);
    if (train && indices.length < MIN_TRAIN_BATCH) break;
    const x = new Float32Array(indices.length * size);
    const labels = new Uint8Array(indices.length);
    indices.forEach((index, b) => {
      labels[b] = split.labels[index];
      const image = split.images.subarray(index * size, (index + 1) * size);
      const pad = train && augment ? dataset.augment.pad : 0;
      const dy = pad ? generator.int(2 * pad + 1) - pad : 0;
      const dx = pad ? generator.int(2 * pad + 1) - pad : 0;
      const flip = train && augment && dataset.augment.flip && generator.random() < 0.5;
      writeImage(x, b * size, image, dataset, dy, dx, flip);
    });
    yield { x, labels, size: indices.length };
  }
}

/** Copies one image into `out`, shifted by (dy, dx) with zero fill (a padded random
 *  crop), optionally mirrored, and normalised per channel. */
function writeImage(
  out: Float32Array,
  offset: number,
  image: Uint8Array,
  dataset: Dataset,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  const [C, H, W] = dataset.shape;
  for (let c = 0; c < C; c++) {
    const mean = dataset.mean[c];
    const scale = 1 / (255 * dataset.std[c]);
    const zero = -mean / dataset.std[c];
    for (let y = 0; y < H; y++) {
      const sy = y + dy;
      for (let x = 0; x < W; x++) {
        const sx = (flip ? W - 1 - x : x) + dx;
        const inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
        out[offset + (c * H + y) * W + x] = inside
          ? image[(c * H + sy) * W + sx] * scale - mean / dataset.std[c]
          : zero;
      }
    }
  }
}
