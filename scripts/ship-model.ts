// Ships a finished training run as the package's pretrained model:
//   npx tsx scripts/ship-model.ts RUN_DIR OUT_DIR [--limit N] [--allow-unfinished] [--cache-dir DIR]
// writes OUT_DIR/model.safetensors (the model's tensors without the optimiser's buffers, and
// the dataset's shape, classes and statistics in the metadata, so that `resnext predict`
// needs no dataset), copies config.json and metrics.jsonl, and evaluates the written file on
// the whole test split (--limit: the first N images only, for trying the script out) into
// OUT_DIR/evaluation.json.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset, type Dataset } from '../src/data/datasets.js';
import { ResnextError } from '../src/errors.js';
import { readSafetensors, saveSafetensors } from '../src/node/safetensors-file.js';
import { classifierInfo, datasetMetadata, loadClassifier } from '../src/pretrained/classifier.js';
import { parseCheckpoint } from '../src/train/checkpoint-format.js';
import { evaluate } from '../src/train/evaluate.js';

type Engine = typeof import('../src/index.js');

const USAGE = 'usage: npx tsx scripts/ship-model.ts RUN_DIR OUT_DIR [--limit N] [--allow-unfinished] [--cache-dir DIR]';

interface Options {
  runDir: string;
  outDir: string;
  limit?: number;
  allowUnfinished: boolean;
  cacheDir: string;
}

function parseOptions(): Options {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        limit: { type: 'string' },
        'allow-unfinished': { type: 'boolean', default: false },
        'cache-dir': { type: 'string', default: '.cache' },
      },
    });
  } catch (e) {
    throw new ResnextError(`${(e as Error).message}\n${USAGE}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 2) throw new ResnextError(`expected RUN_DIR and OUT_DIR\n${USAGE}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0))
    throw new ResnextError(`--limit '${values.limit}' is not a positive integer`);
  const [runDir, outDir] = positionals;
  return { runDir, outDir, limit, allowUnfinished: values['allow-unfinished'], cacheDir: values['cache-dir'] };
}

/** Writes model.safetensors, config.json and metrics.jsonl; returns the model file and its dataset. */
async function shipFiles({ runDir, outDir, allowUnfinished, cacheDir }: Options): Promise<[string, Dataset]> {
  const source = join(runDir, 'last.safetensors');
  const file = await readSafetensors(source);
  const { config, position, model } = parseCheckpoint(file, source);
  if (!allowUnfinished && (position.partial || position.epoch < config.epochs))
    throw new ResnextError(
      `${source} is from epoch ${position.epoch} of ${config.epochs}${position.partial ? ' (mid-epoch)' : ''}: the run is not finished; finish it (resnext train --out ${runDir} --resume) or pass --allow-unfinished`,
    );
  const dataset = await loadDataset(config.dataset, { cacheDir, dataDir: config.dataDir, log: console.log });
  const dict = Object.fromEntries(Object.entries(model).map(([k, v]) => [`model.${k}`, v]));
  // The checkpoint's own metadata strings, verbatim, so every reader of checkpoints reads it.
  const { format, config: configJson, position: positionJson } = file.metadata;
  const metadata = { format, config: configJson, position: positionJson, ...datasetMetadata(dataset) };
  await mkdir(outDir, { recursive: true });
  const target = join(outDir, 'model.safetensors');
  await saveSafetensors(target, dict, { metadata });
  for (const name of ['config.json', 'metrics.jsonl']) await copyFile(join(runDir, name), join(outDir, name));
  return [target, dataset];
}

/** Evaluates the written file, read back as predict reads it, and writes evaluation.json. */
async function evaluateShipped(
  { runtime, describeAdapter }: Engine,
  path: string,
  dataset: Dataset,
  { outDir, limit }: Options,
): Promise<void> {
  const file = await readSafetensors(path);
  const checkpoint = parseCheckpoint(file, path);
  // No fallback: the shipped file must describe its dataset by itself.
  const info = await classifierInfo(checkpoint, file.metadata, path);
  const model = loadClassifier(checkpoint, info);
  const images = Math.min(limit ?? dataset.test.count, dataset.test.count);
  console.log(`evaluating ${path} on ${images} ${dataset.name} test images`);
  const { loss, error, confusion } = await evaluate(model, dataset, dataset.test, limit);
  model.dispose();
  const evaluation = {
    model: info.config.model,
    dataset: dataset.name,
    epoch: checkpoint.position.epoch,
    images,
    split: 'test',
    error,
    accuracy: 1 - error,
    loss,
    classes: dataset.classes,
    confusion,
    adapter: describeAdapter(runtime().report),
    date: new Date().toISOString(),
  };
  await writeFile(join(outDir, 'evaluation.json'), JSON.stringify(evaluation, null, 2) + '\n');
  console.log(
    `test accuracy ${(100 * (1 - error)).toFixed(2)}% on ${images} images (top-1 error ${(100 * error).toFixed(2)}%, loss ${loss.toFixed(4)}); wrote ${outDir}`,
  );
}

// The engine (which acquires the device) loads only once the files are written.
let engine: Engine | undefined;
try {
  const options = parseOptions();
  const [path, dataset] = await shipFiles(options);
  engine = await import('../src/index.js');
  await evaluateShipped(engine, path, dataset, options);
} catch (error) {
  if (!(error instanceof ResnextError)) throw error;
  console.error(`ship-model: ${error.message}`);
  process.exitCode = 1;
} finally {
  // Releasing the device lets the process exit.
  await engine?.shutdown();
}
