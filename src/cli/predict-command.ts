// `resnext predict`: classify PNG or JPEG pictures with a trained model, by default the
// small ResNeXt shipped in the package (pretrained/). Everything but the forward pass runs
// before the engine loads, so a bad file or flag is reported without waiting for a device.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ResnextError } from '../errors.js';
import { SHIPPED_MODEL, type Prediction } from '../pretrained/classifier.js';
import { positiveInt, withEngine } from './args.js';

interface PredictFlags {
  checkpoint?: string;
  top: number;
  json?: boolean;
  invert: 'auto' | 'yes' | 'no';
  cacheDir: string;
}

interface ImageResult {
  file: string;
  width: number;
  height: number;
  inverted: boolean;
  predictions: Prediction[];
}

/** The directory holding package.json above `from`: the CLI runs from src/cli/ (a clone,
 *  through tsx) or from dist/cli/ (installed), and pretrained/ sits beside both. */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new ResnextError(`no package.json above ${fileURLToPath(from)}`);
    dir = parent;
  }
  return dir;
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('classify PNG or JPEG pictures with a trained model (by default the shipped Fashion-MNIST ResNeXt)')
    .argument('<images...>', 'PNG or JPEG files, any size; a light background is inverted to match the dataset')
    .option('--checkpoint <file>', `a model (default: the shipped ${SHIPPED_MODEL}) or a run's last.safetensors`)
    .option('--top <k>', 'how many classes to print per image', positiveInt, 3)
    .option('--json', 'print JSON')
    .addOption(
      new Option('--invert <mode>', 'invert the grey levels: auto (when the border is light), yes or no')
        .choices(['auto', 'yes', 'no'])
        .default('auto'),
    )
    .option('--cache-dir <dir>', "where the dataset's cache lives, for a checkpoint without dataset metadata", '.cache')
    .action(predictAction);
}

function checkpointPath(flags: PredictFlags): string {
  if (flags.checkpoint !== undefined) return flags.checkpoint;
  const path = join(packageRoot(), SHIPPED_MODEL);
  if (!existsSync(path))
    throw new ResnextError(
      `the shipped model ${path} is missing (a clone of the repository has it only once a model is shipped into pretrained/); pass --checkpoint FILE, e.g. the last.safetensors of a run of 'resnext train'`,
    );
  return path;
}

async function predictAction(files: string[], flags: PredictFlags): Promise<void> {
  const path = checkpointPath(flags);
  const { readSafetensors } = await import('../node/safetensors-file.js');
  const { parseCheckpoint } = await import('../train/checkpoint-format.js');
  const { classifierInfo, classify, loadClassifier } = await import('../pretrained/classifier.js');
  const file = await readSafetensors(path);
  const checkpoint = parseCheckpoint(file, path);
  const info = await classifierInfo(checkpoint, file.metadata, path, async (config) => {
    const { loadDataset } = await import('../data/datasets.js');
    // stderr, so that --json's stdout stays one JSON document.
    return loadDataset(config.dataset, { cacheDir: flags.cacheDir, dataDir: config.dataDir, log: console.error });
  });
  const classes = info.dataset.classes.length;
  if (flags.top > classes)
    throw new InvalidArgumentError(`--top ${flags.top} is more than the ${classes} classes of ${path}`);
  const { readImage } = await import('../node/images.js');
  const { prepareImage } = await import('../data/image-prep.js');
  const invert = flags.invert === 'auto' ? 'auto' : flags.invert === 'yes';
  const size = info.dataset.shape.reduce((a, b) => a * b, 1);
  const pixels = new Float32Array(files.length * size);
  const images: Omit<ImageResult, 'predictions'>[] = [];
  for (const [i, name] of files.entries()) {
    const { width, height, rgba } = await readImage(name);
    const prepared = prepareImage(rgba, width, height, info.dataset, { invert });
    pixels.set(prepared.pixels, i * size);
    images.push({ file: name, width, height, inverted: prepared.inverted });
  }
  await withEngine(async () => {
    const model = loadClassifier(checkpoint, info);
    let predictions: Prediction[][];
    try {
      predictions = await classify(model, info.dataset, pixels, flags.top);
    } finally {
      model.dispose();
    }
    const results = images.map((image, i) => ({ ...image, predictions: predictions[i] }));
    const { model: name, dataset } = info.config;
    if (flags.json) console.log(JSON.stringify({ checkpoint: path, model: name, dataset, images: results }, null, 2));
    else printResults(results);
  });
}

function printResults(results: ImageResult[]): void {
  const width = Math.max(...results.flatMap((r) => r.predictions.map((p) => p.label.length)));
  for (const r of results) {
    console.log(`${r.file} (${r.width}x${r.height}${r.inverted ? ', inverted: light background' : ''})`);
    r.predictions.forEach((p, i) =>
      console.log(`  ${i + 1}. ${p.label.padEnd(width)} ${(100 * p.probability).toFixed(2).padStart(6)}%`),
    );
  }
}
