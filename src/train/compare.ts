// `resnext compare`: the paper's comparison on a small scale. Trains a ResNeXt and its
// ResNet twin of matched parameters and MACs under one recipe, over K seeds, and writes
// one figure with both models' train and test error per epoch (as the paper's Figure 5)
// and a table.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, type Dataset } from '../data/datasets.js';
import { modelInfo } from '../models/info.js';
import type { ModelName } from '../models/names.js';
import type { TrainConfig } from './config.js';
import { lineChart, type Series } from './plot.js';
import type { Progress } from './progress.js';
import { train, type EpochMetrics } from './trainer.js';

export interface CompareRow {
  model: ModelName;
  params: number;
  macs: number;
  bestTestError: number[];
  finalTestError: number[];
  imagesPerSecond: number[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[]) =>
  xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0;
const percent = (xs: number[]) =>
  `${(100 * mean(xs)).toFixed(2)}%${xs.length > 1 ? ` ± ${(100 * spread(xs)).toFixed(2)}` : ''}`;

export interface CompareOptions {
  outDir: string;
  seeds: number;
  cacheDir?: string;
  dataset?: Dataset;
  log?: (line: string) => void;
  progress?: Progress;
}

export async function compare(
  models: ModelName[],
  recipe: TrainConfig,
  options: CompareOptions,
): Promise<{ rows: CompareRow[]; table: string }> {
  const { outDir, seeds, cacheDir, log = () => undefined } = options;
  await mkdir(outDir, { recursive: true });
  const dataset = options.dataset ?? (await loadDataset(recipe.dataset, { cacheDir, dataDir: recipe.dataDir, log }));
  const curves = new Map<ModelName, EpochMetrics[][]>();
  const rows: CompareRow[] = [];
  for (const model of models) {
    const info = modelInfo(model, dataset.shape, dataset.classes.length);
    const runs = await trainSeeds(model, recipe, dataset, { ...options, log });
    curves.set(model, runs);
    rows.push({
      model,
      params: info.params,
      macs: info.macs,
      bestTestError: runs.map((r) => Math.min(...r.map((m) => m.testError))),
      finalTestError: runs.map((r) => r.at(-1)!.testError),
      imagesPerSecond: runs.map((r) => mean(r.map((m) => m.imagesPerSecond))),
    });
  }
  await writeFile(
    join(outDir, 'compare.svg'),
    lineChart(
      `${recipe.dataset}: top-1 error, mean of ${seeds} seed(s)`,
      'epoch',
      'error (%)',
      errorSeries(models, curves),
    ),
  );
  const table = formatTable(rows);
  await writeFile(join(outDir, 'compare.md'), `${table}\n`);
  await writeFile(join(outDir, 'compare.json'), JSON.stringify({ recipe, seeds, rows }, null, 2));
  return { rows, table };
}

/** One run of `model` per seed, each in its own directory: their epochs' metrics. */
async function trainSeeds(
  model: ModelName,
  recipe: TrainConfig,
  dataset: Dataset,
  { outDir, seeds, log, progress }: CompareOptions & { log: (line: string) => void },
): Promise<EpochMetrics[][]> {
  const runs: EpochMetrics[][] = [];
  for (let s = 0; s < seeds; s++) {
    log(`${model}, seed ${recipe.seed + s} (${s + 1}/${seeds})`);
    const config = { ...recipe, model, seed: recipe.seed + s };
    const outcome = await train(config, {
      outDir: join(outDir, `${model}-seed${recipe.seed + s}`),
      force: true,
      dataset,
      progress,
    });
    runs.push(outcome.epochs);
  }
  return runs;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** Each model's train (dashed) and test error per epoch, averaged over its seeds. */
function errorSeries(models: readonly ModelName[], curves: Map<ModelName, EpochMetrics[][]>): Series[] {
  return models.flatMap((model, i) => {
    const runs = curves.get(model)!;
    const averaged = (pick: (m: EpochMetrics) => number) =>
      runs[0].map((m, e): [number, number] => [m.epoch, 100 * mean(runs.map((r) => pick(r[e])))]);
    const color = COLORS[i % COLORS.length];
    return [
      { label: `${model} train`, points: averaged((m) => m.trainError), color, dashed: true },
      { label: `${model} test`, points: averaged((m) => m.testError), color },
    ];
  });
}

function formatTable(rows: readonly CompareRow[]): string {
  const header =
    '| model | params | MACs per image | best test error | final test error | train images/s |\n|---|---|---|---|---|---|';
  return [
    header,
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.params.toLocaleString('en-US')} | ${(r.macs / 1e6).toFixed(2)}M | ${percent(r.bestTestError)} | ${percent(r.finalTestError)} | ${mean(r.imagesPerSecond).toFixed(1)} |`,
    ),
  ].join('\n');
}
