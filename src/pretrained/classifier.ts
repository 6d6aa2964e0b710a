// A trained checkpoint as an image classifier, with no file system: what the model expects
// of its inputs (the dataset's shape, class names and normalisation) and top-k predictions.
// A shipped model carries that dataset description in its safetensors metadata, so that
// `resnext predict` and a page classify pictures without downloading the dataset.
import { noGrad } from '../autograd.js';
import { tensor } from '../creation.js';
import type { Dataset } from '../data/dataset-format.js';
import { ArgumentError, ResnextError } from '../errors.js';
import { MODELS } from '../models/index.js';
import type { ResNet } from '../models/resnet.js';
import { tidy } from '../tensor.js';
import type { Checkpoint } from '../train/checkpoint-format.js';
import type { TrainConfig } from '../train/config.js';

/** What a classifier needs to know of its dataset: no images. */
export type DatasetInfo = Pick<Dataset, 'name' | 'shape' | 'classes' | 'mean' | 'std'>;

export interface ClassifierInfo {
  config: TrainConfig;
  dataset: DatasetInfo;
}

export interface Prediction {
  /** The class's name. */
  label: string;
  /** The class's index, as in the dataset's labels. */
  index: number;
  probability: number;
}

/** The model the package ships, relative to the package root. */
export const SHIPPED_MODEL = 'pretrained/small_resnext-fashion-mnist/model.safetensors';

/** The safetensors metadata key that holds JSON.stringify(DatasetInfo). */
export const DATASET_METADATA_KEY = 'dataset';

/** The metadata entry that makes a checkpoint self-describing (merge it into the file's metadata). */
export function datasetMetadata({ name, shape, classes, mean, std }: DatasetInfo): Record<string, string> {
  return { [DATASET_METADATA_KEY]: JSON.stringify({ name, shape, classes, mean, std }) };
}

/**
 * The classifier's description: the checkpoint's config, and its dataset from the metadata's
 * `dataset` entry or, for checkpoints without one (a run's last.safetensors), from
 * `fallback` (which loads the dataset for its statistics). `source` names the file in errors.
 */
export async function classifierInfo(
  checkpoint: Checkpoint,
  metadata: Record<string, string>,
  source: string,
  fallback?: (config: TrainConfig) => Promise<DatasetInfo>,
): Promise<ClassifierInfo> {
  const { config } = checkpoint;
  const raw = metadata[DATASET_METADATA_KEY];
  let dataset: DatasetInfo;
  if (raw !== undefined) dataset = parseDatasetInfo(raw, source);
  else if (fallback) dataset = await fallback(config);
  else
    throw new ResnextError(
      `${source} has no '${DATASET_METADATA_KEY}' metadata (the shape, classes and statistics of its images); load its dataset (${config.dataset}) for them`,
    );
  const input = MODELS[config.model]?.input;
  if (!input || input[0] !== dataset.shape[0])
    throw new ResnextError(
      `${source}: model ${config.model} does not take the ${dataset.shape.join('x')} images of ${dataset.name}`,
    );
  return { config, dataset: { ...dataset, classes: [...dataset.classes] } };
}

function parseDatasetInfo(raw: string, source: string): DatasetInfo {
  let info: Partial<DatasetInfo>;
  try {
    info = JSON.parse(raw) as Partial<DatasetInfo>;
  } catch (e) {
    throw new ResnextError(`${source}: its '${DATASET_METADATA_KEY}' metadata is not JSON (${(e as Error).message})`);
  }
  const { name, shape, classes, mean, std } = info;
  const counts = (a: unknown, n: number) => Array.isArray(a) && a.length === n;
  const ok =
    typeof name === 'string' &&
    counts(shape, 3) &&
    shape!.every((d) => Number.isSafeInteger(d) && d > 0) &&
    Array.isArray(classes) &&
    classes.length > 1 &&
    counts(mean, shape![0]) &&
    counts(std, shape![0]) &&
    std!.every((s) => s > 0);
  if (!ok)
    throw new ResnextError(
      `${source}: its '${DATASET_METADATA_KEY}' metadata is not {name, shape: [C, H, W], classes, mean and std per channel}`,
    );
  return { name, shape, classes, mean, std } as DatasetInfo;
}

/** The checkpoint's trained model, in eval mode. */
export function loadClassifier(checkpoint: Checkpoint, info: ClassifierInfo): ResNet {
  const model = MODELS[info.config.model].create({
    numClasses: info.dataset.classes.length,
    zeroInitResidual: info.config.zeroInitResidual,
  });
  model.loadStateDict(checkpoint.model, { strict: true });
  return model.eval();
}

/**
 * The top `k` classes of each image, most probable first. `images` holds n normalised
 * images of `dataset.shape` one after another (prepareImage's pixels, or a loader batch).
 */
export async function classify(
  model: ResNet,
  dataset: Pick<DatasetInfo, 'shape' | 'classes'>,
  images: Float32Array,
  k: number,
  batchSize = 64,
): Promise<Prediction[][]> {
  const classes = dataset.classes.length;
  if (!Number.isSafeInteger(k) || k < 1 || k > classes)
    throw new ArgumentError('classify', 'k', `must be an integer from 1 to the ${classes} classes, got ${k}`);
  const size = dataset.shape.reduce((a, b) => a * b, 1);
  if (images.length % size !== 0)
    throw new ArgumentError(
      'classify',
      'images',
      `holds ${images.length} values, not a whole number of [${dataset.shape.join(', ')}] images`,
    );
  const wasTraining = model.training;
  model.eval();
  const out: Prediction[][] = [];
  try {
    for (let start = 0; start < images.length / size; start += batchSize) {
      const n = Math.min(batchSize, images.length / size - start);
      const x = images.subarray(start * size, (start + n) * size);
      const logits = noGrad(() => tidy(() => model.forward(tensor(x, [n, ...dataset.shape]))));
      const values = await logits.toArray().finally(() => logits.dispose());
      for (let i = 0; i < n; i++) out.push(topK(softmax(values.subarray(i * classes, (i + 1) * classes)), dataset, k));
    }
  } finally {
    if (wasTraining) model.train();
  }
  return out;
}

/** Probabilities of one row of logits, in doubles (the largest subtracted for range). */
export function softmax(logits: ArrayLike<number>): number[] {
  const row = Array.from(logits);
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function topK(probabilities: number[], dataset: Pick<DatasetInfo, 'classes'>, k: number): Prediction[] {
  return probabilities
    .map((probability, index) => ({ label: dataset.classes[index], index, probability }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k);
}
