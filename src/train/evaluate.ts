// Evaluation of a model on a split (test loss, top-1 error, confusion matrix), with no file
// system, so the web app evaluates as `resnext train` and `resnext eval` do.
import { noGrad } from '../autograd.js';
import { tensor } from '../creation.js';
import type { Dataset, Split } from '../data/dataset-format.js';
import { batches } from '../data/loader.js';
import type { ResNet } from '../models/resnet.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { Generator } from '../random.js';
import { tidy, type Tensor } from '../tensor.js';

export interface Evaluation {
  loss: number;
  error: number;
  /** How many images of the split were evaluated. */
  images: number;
  /** confusion[true][predicted] */
  confusion: number[][];
}

/** Test loss, top-1 error and confusion matrix, in eval mode without gradients. */
export async function evaluate(
  model: ResNet,
  dataset: Dataset,
  split: Split,
  limit?: number,
  batchSize = 256,
): Promise<Evaluation> {
  model.eval();
  const classes = dataset.classes.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let count = 0;
  for (const batch of batches(dataset, split, { batchSize, train: false, generator: new Generator(0), limit })) {
    const [loss, logits] = noGrad(() =>
      tidy(() => {
        const out = model.forward(tensor(batch.x, [batch.size, ...dataset.shape]));
        return [crossEntropy(out, batch.labels), out] as Tensor[];
      }),
    );
    const [l, values] = await Promise.all([loss.item(), logits.toArray()]);
    loss.dispose();
    logits.dispose();
    lossSum += l * batch.size;
    count += batch.size;
    batch.labels.forEach((label, i) => confusion[label][argmax(values, i * classes, classes)]++);
  }
  const correct = confusion.reduce((n, row, i) => n + row[i], 0);
  return { loss: lossSum / Math.max(count, 1), error: count ? 1 - correct / count : 0, images: count, confusion };
}

export function argmax(values: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}

/** Misclassified rows of a batch's logits [labels.length, classes]. */
export function countWrong(logits: Float32Array, labels: Uint8Array, classes: number): number {
  let wrong = 0;
  labels.forEach((label, i) => (wrong += argmax(logits, i * classes, classes) === label ? 0 : 1));
  return wrong;
}

/** "all 10,000 test images" or "the first 1,024 of 10,000 test images": what a figure covers. */
export function describeCoverage(images: number, splitCount: number, split = 'test'): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return images >= splitCount
    ? `all ${n(splitCount)} ${split} images`
    : `the first ${n(images)} of ${n(splitCount)} ${split} images`;
}
