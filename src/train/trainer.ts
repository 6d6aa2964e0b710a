// The training loop: batches in, SGD steps on the GPU, evaluation after every epoch, a
// metrics file, SVG curves and an atomic checkpoint per epoch; resumable, and stopped
// with the last good checkpoint kept when the loss turns NaN.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, type Dataset } from '../data/datasets.js';
import { ArgumentError, ResnextError } from '../errors.js';
import type { ResNet } from '../models/resnet.js';
import { SGD } from '../optim/sgd.js';
import { Generator } from '../random.js';
import { createModel, createOptimizer, createSchedule } from './setup.js';
import { readCheckpoint, type Checkpoint } from './checkpoint.js';
import { CheckpointPolicy, stopBeforeFirstStep, type EpochPartial } from './checkpoint-policy.js';
import { validateConfig, type TrainConfig } from './config.js';
import { runEpoch, type Run } from './epoch.js';
import { describeCoverage } from './evaluate.js';
import { METRICS_FILE, MetricsLog, type EpochMetrics } from './metrics.js';
import type { Progress } from './progress.js';
import { FirstStepTuning } from './tuning.js';

export { TrainingDivergedError } from './epoch.js';
export type { EpochMetrics, StepMetrics } from './metrics.js';

export interface TrainOptions {
  outDir: string;
  /** Continue the run in outDir from its last checkpoint. */
  resume?: boolean;
  /** Start afresh even if outDir holds another run. */
  force?: boolean;
  /** Use this dataset instead of loading config.dataset (tests). */
  dataset?: Dataset;
  cacheDir?: string;
  /** Stop after this many epochs of the run have completed (as if interrupted). */
  stopAfterEpoch?: number;
  /** Asked once after every step: when it says yes, the run saves a checkpoint where it
   *  is and returns, and `--resume` continues from that step. */
  shouldStop?: () => boolean;
  /** Aborted (by Ctrl-C), the run stops at the next point where nothing is lost: before its
   *  first step, having trained nothing (`started` false), or after the step in flight, or
   *  at the end of an epoch that is being evaluated, with that checkpoint written. */
  signal?: AbortSignal;
  /** Called once, as the first step of this call starts: from then on a stop writes a
   *  checkpoint, which is all that keeps the steps taken. */
  onFirstStep?: () => void;
  log?: (line: string) => void;
  progress?: Progress;
  /** Time the kernel variants of the model's convolutions after its first step and keep
   *  the fastest (saved in cacheDir for the adapter); default true. */
  tune?: boolean;
  /** Time them afresh even where the tuning file holds a choice, and save the new ones. */
  retune?: boolean;
}

export interface TrainResult {
  epochs: EpochMetrics[];
  /** True when shouldStop or the signal ended the run early (after a checkpoint, if
   *  `started`). */
  interrupted: boolean;
  /** False when the signal came before the first step: nothing was trained, and no
   *  checkpoint written. */
  started: boolean;
  /** The dataset's test split size, against which each epoch's testImages is counted
   *  (absent when the run stopped before loading it). */
  testSplit?: number;
}

const CHECKPOINT = 'last.safetensors';

export { createModel } from './setup.js';

export async function train(requested: TrainConfig, options: TrainOptions): Promise<TrainResult> {
  const { outDir, signal, log = () => undefined } = options;
  if (signal?.aborted) return { epochs: [], interrupted: true, started: false };
  const dir = await openRunDir(requested, options);
  const dataset =
    options.dataset ??
    (await loadDataset(dir.config.dataset, { cacheDir: options.cacheDir, dataDir: dir.config.dataDir, log }));
  const lastEpoch = Math.min(dir.config.epochs, options.stopAfterEpoch ?? dir.config.epochs);
  const policy = new CheckpointPolicy(dir.checkpointPath, options, lastEpoch);
  const restored = await restoreRun(dir, dataset, outDir, log);
  await restored.metrics.write();
  if (signal?.aborted) {
    disposeRun(restored);
    const run = { isNew: !dir.holdsRun, resumed: dir.resumed !== null, checkpointPath: dir.checkpointPath };
    await stopBeforeFirstStep(outDir, run, [METRICS_FILE, 'config.json'], log);
    return { epochs: [], interrupted: true, started: false, testSplit: dataset.test.count };
  }
  options.onFirstStep?.();
  const tuning = new FirstStepTuning(options.tune !== false, options.cacheDir, log, options.retune);
  const run: Run = { ...restored, policy, tuning, log, progress: options.progress };
  let interrupted: boolean;
  try {
    interrupted = await runEpochs(run, restored.startEpoch, restored.partial);
  } finally {
    // Also when a step throws (a NaN loss, a lost device): no trace or model outlives the run.
    tuning.dispose();
    disposeRun(run);
  }
  return { epochs: run.metrics.epochs, interrupted, started: true, testSplit: dataset.test.count };
}

interface RunDir {
  config: TrainConfig;
  checkpointPath: string;
  resumed: Checkpoint | null;
  /** outDir held a run (its config.json) before this call. */
  holdsRun: boolean;
}

/** Reads the checkpoint to resume, refuses another run's directory, writes config.json and
 *  removes the temporary file of a checkpoint whose writing was killed. */
async function openRunDir(requested: TrainConfig, options: TrainOptions): Promise<RunDir> {
  const { outDir } = options;
  const checkpointPath = join(outDir, CHECKPOINT);
  const resumed = options.resume ? await readCheckpoint(checkpointPath) : null;
  const config = validateConfig(resumed?.config ?? requested);
  const holdsRun = existsSync(join(outDir, 'config.json'));
  if (!options.resume && !options.force && holdsRun) {
    throw new ArgumentError(
      'train',
      'out',
      `${outDir} already holds a run; pass --resume to continue it or --force to start over`,
    );
  }
  try {
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'config.json'), JSON.stringify(config, null, 2));
    for (const f of await readdir(outDir))
      if (f.startsWith(`${CHECKPOINT}.tmp-`)) await rm(join(outDir, f), { force: true });
  } catch (e) {
    throw new ResnextError(`cannot write the run directory ${outDir}: ${(e as Error).message}`);
  }
  return { config, checkpointPath, resumed, holdsRun };
}

type RestoredRun = Omit<Run, 'policy' | 'tuning' | 'log' | 'progress'> & {
  startEpoch: number;
  partial?: EpochPartial;
};

/** The model, optimizer, generator and metrics of a new run, or where a resumed one was. */
async function restoreRun(
  dir: RunDir,
  dataset: Dataset,
  outDir: string,
  log: (line: string) => void,
): Promise<RestoredRun> {
  const { config, resumed } = dir;
  const generator = new Generator(config.seed);
  const model = createModel(config, dataset, generator);
  const optimizer = createOptimizer(config, model);
  const schedule = createSchedule(config, dataset);
  const { stepsPerEpoch } = schedule;
  const common = { config, dataset, model, optimizer, generator, schedule, stepsPerEpoch };
  if (!resumed) return { ...common, step: 0, startEpoch: 0, metrics: await MetricsLog.open(outDir) };
  model.loadStateDict(resumed.model, { strict: true });
  optimizer.restore(resumed.position.step, resumed.momentum);
  generator.setState(resumed.position.rngState);
  const { step, epoch, partial } = resumed.position;
  const metrics = await MetricsLog.open(outDir, { step, epoch });
  log(`resuming ${outDir} at step ${step} (epoch ${epoch + 1}${partial ? `, ${partial.steps} steps in` : ''})`);
  return { ...common, step, startEpoch: epoch, partial, metrics };
}

function disposeRun({ model, optimizer }: { model: ResNet; optimizer: SGD }): void {
  model.dispose();
  optimizer.buffers.forEach((b) => b?.dispose());
}

/** The epochs from startEpoch + 1 to the policy's last; true when a stop ended them early. */
async function runEpochs(run: Run, startEpoch: number, partial: EpochPartial | undefined): Promise<boolean> {
  for (let epoch = startEpoch + 1; epoch <= run.policy.lastEpoch; epoch++) {
    const metrics = await runEpoch(run, epoch, partial);
    partial = undefined;
    if (!metrics) return true;
    await endEpoch(run, metrics);
    // A stop that came during the evaluation: this epoch's checkpoint is the place to stop.
    if (run.policy.stopsAfterEpoch(epoch)) {
      run.log(`stopped after epoch ${epoch} (step ${run.step}); checkpoint written to ${run.policy.path}`);
      return true;
    }
  }
  return false;
}

/** The epoch's metrics logged, its checkpoint, the metrics file and the curves written. */
async function endEpoch(run: Run, m: EpochMetrics): Promise<void> {
  run.metrics.epoch(m);
  const position = CheckpointPolicy.epochPosition(m.epoch, run.step, run.generator.getState());
  await run.policy.save(run.config, run.model, run.optimizer, position);
  await run.metrics.write();
  await run.metrics.writeCurves();
  const coverage = describeCoverage(m.testImages, run.dataset.test.count);
  run.progress?.done(
    `epoch ${m.epoch}/${run.config.epochs}: train loss ${m.trainLoss.toFixed(4)} error ${(100 * m.trainError).toFixed(2)}%, test loss ${m.testLoss.toFixed(4)} error ${(100 * m.testError).toFixed(2)}% (${coverage}), ${m.imagesPerSecond.toFixed(1)} img/s, ${m.seconds.toFixed(1)} s`,
  );
}

export { describeCoverage, evaluate, type Evaluation } from './evaluate.js';
