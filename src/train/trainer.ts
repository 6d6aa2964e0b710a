// The training loop: batches in, SGD steps on the GPU, evaluation after every epoch, a
// metrics file, SVG curves and an atomic checkpoint per epoch; resumable, and stopped
// with the last good checkpoint kept when the loss turns NaN.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensor } from '../creation.js';
import { batches } from '../data/loader.js';
import { loadDataset, type Dataset } from '../data/datasets.js';
import { ArgumentError, ResnextError } from '../errors.js';
import { MODELS } from '../models/index.js';
import type { ResNet } from '../models/resnet.js';
import { traceConv2d, tuneConv2d, type TunedChoice } from '../ops/conv2d.js';
import { learningRate, type Schedule } from '../optim/schedule.js';
import { SGD } from '../optim/sgd.js';
import { Generator } from '../random.js';
import { runtime } from '../runtime/index.js';
import { tidy } from '../tensor.js';
import { readCheckpoint, saveCheckpoint, type RunPosition } from './checkpoint.js';
import { countWrong, evaluate } from './evaluate.js';
import { sgdStep } from './step.js';
import { validateConfig, type TrainConfig } from './config.js';
import { lineChart } from './plot.js';
import type { Progress } from './progress.js';

export interface EpochMetrics {
  kind: 'epoch';
  epoch: number;
  step: number;
  lr: number;
  trainLoss: number;
  trainError: number;
  testLoss: number;
  testError: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface StepMetrics {
  kind: 'step';
  epoch: number;
  step: number;
  lr: number;
  loss: number;
}

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
}

export class TrainingDivergedError extends ResnextError {}

export interface TrainResult {
  epochs: EpochMetrics[];
  /** True when shouldStop or the signal ended the run early (after a checkpoint, if
   *  `started`). */
  interrupted: boolean;
  /** False when the signal came before the first step: nothing was trained, and no
   *  checkpoint written. */
  started: boolean;
}

const CHECKPOINT = 'last.safetensors';
const METRICS = 'metrics.jsonl';
const STEP_LOG_EVERY = 10;
const TUNING_FILE = 'autotune.json';

export function createModel(config: TrainConfig, dataset: Dataset, generator: Generator): ResNet {
  const { create, input } = MODELS[config.model];
  if (input[0] !== dataset.shape[0]) {
    throw new ArgumentError(
      'train',
      'model',
      `${config.model} takes ${input[0]}-channel images but ${dataset.name} has ${dataset.shape[0]}; pick a model for ${dataset.shape.join('x')} inputs`,
    );
  }
  return create({ numClasses: dataset.classes.length, generator, zeroInitResidual: config.zeroInitResidual });
}

export async function train(requested: TrainConfig, options: TrainOptions): Promise<TrainResult> {
  const { outDir, signal, log = () => undefined } = options;
  if (signal?.aborted) return { epochs: [], interrupted: true, started: false };
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
    // A process killed while writing a checkpoint leaves its temporary file behind.
    for (const f of await readdir(outDir))
      if (f.startsWith(`${CHECKPOINT}.tmp-`)) await rm(join(outDir, f), { force: true });
  } catch (e) {
    throw new ResnextError(`cannot write the run directory ${outDir}: ${(e as Error).message}`);
  }
  const dataset =
    options.dataset ??
    (await loadDataset(config.dataset, { cacheDir: options.cacheDir, dataDir: config.dataDir, log }));
  const generator = new Generator(config.seed);
  const model = createModel(config, dataset, generator);
  const optimizer = new SGD(model.parameters(), {
    lr: config.lr,
    momentum: config.momentum,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
  });
  const trainCount = Math.min(config.trainLimit ?? dataset.train.count, dataset.train.count);
  const stepsPerEpoch = Math.floor(trainCount / config.batchSize) + (trainCount % config.batchSize >= 2 ? 1 : 0);
  const schedule: Schedule = {
    kind: config.schedule,
    baseLr: config.lr,
    epochs: config.epochs,
    stepsPerEpoch,
    warmupEpochs: config.warmupEpochs,
  };
  let history: (EpochMetrics | StepMetrics)[] = [];
  let step = 0;
  let startEpoch = 0;
  let partial: NonNullable<RunPosition['partial']> | undefined;
  if (resumed) {
    model.loadStateDict(resumed.model, { strict: true });
    optimizer.restore(resumed.position.step, resumed.momentum);
    generator.setState(resumed.position.rngState);
    ({ step, epoch: startEpoch, partial } = resumed.position);
    history = (await readMetrics(join(outDir, METRICS))).filter(
      (m) => m.step <= step && (m.kind === 'step' || m.epoch <= startEpoch),
    );
    log(`resuming ${outDir} at step ${step} (epoch ${startEpoch + 1}${partial ? `, ${partial.steps} steps in` : ''})`);
  }
  await writeFile(
    join(outDir, METRICS),
    history.map((m) => JSON.stringify(m)).join('\n') + (history.length ? '\n' : ''),
  );
  const lastEpoch = Math.min(config.epochs, options.stopAfterEpoch ?? config.epochs);
  if (signal?.aborted) {
    model.dispose();
    optimizer.buffers.forEach((b) => b?.dispose());
    // A new run leaves no trace, so that the same command starts it again.
    if (!holdsRun) await Promise.all([METRICS, 'config.json'].map((f) => rm(join(outDir, f), { force: true })));
    log(`stopped before the first step; nothing trained${resumed ? `, ${checkpointPath} as it was` : ''}`);
    return { epochs: [], interrupted: true, started: false };
  }
  options.onFirstStep?.();
  if (options.tune !== false) runtime().tuning.attach(join(options.cacheDir ?? '.cache', TUNING_FILE));
  let stopTrace = options.tune === false ? null : traceConv2d();
  let interrupted = false;
  for (let epoch = startEpoch + 1; epoch <= lastEpoch; epoch++) {
    let started = performance.now();
    const epochStart = generator.getState();
    model.train();
    let { seen, lossSum, wrong } = partial ?? { seen: 0, lossSum: 0, wrong: 0 };
    let imagesTimed = 0; // images/s counts only what this process trained
    let skip = partial?.steps ?? 0;
    partial = undefined;
    let pending: Promise<[Float32Array, Float32Array]> | null = null;
    let pendingBatch: { labels: Uint8Array; size: number; step: number; lr: number } | null = null;
    const settle = async () => {
      if (!pending || !pendingBatch) return;
      const [loss, logits] = await pending;
      const b = pendingBatch;
      pending = null;
      pendingBatch = null;
      if (!Number.isFinite(loss[0])) {
        const kept = existsSync(checkpointPath)
          ? `the last good checkpoint (${checkpointPath}) is kept`
          : 'no checkpoint had been written yet';
        throw new TrainingDivergedError(
          `the loss became ${loss[0]} at step ${b.step} (epoch ${epoch}); stopped, and ${kept}. Try a lower --lr.`,
        );
      }
      seen += b.size;
      imagesTimed += b.size;
      lossSum += loss[0] * b.size;
      wrong += countWrong(logits, b.labels, dataset.classes.length);
      if (b.step % STEP_LOG_EVERY === 0) history.push({ kind: 'step', epoch, step: b.step, lr: b.lr, loss: loss[0] });
      options.progress?.update(epoch, {
        step: b.step - (epoch - 1) * stepsPerEpoch,
        steps: stepsPerEpoch,
        loss: lossSum / seen,
        accuracy: 1 - wrong / seen,
        imagesPerSecond: imagesTimed / ((performance.now() - started) / 1000),
      });
    };
    for (const batch of batches(dataset, dataset.train, {
      batchSize: config.batchSize,
      train: true,
      augment: config.augment,
      generator,
      limit: config.trainLimit,
    })) {
      // Resuming inside an epoch: replay its batches (the same random draws) up to where it stopped.
      if (skip > 0) {
        skip--;
        continue;
      }
      const lr = learningRate(schedule, step);
      optimizer.lr = lr;
      const { loss, logits } = tidy(() =>
        sgdStep(model, optimizer, tensor(batch.x, [batch.size, ...dataset.shape]), batch.labels),
      );
      step++;
      // Stopping: the tuning (seconds, on a CPU adapter) waits for the next run.
      if (stopTrace && signal?.aborted) stopTrace = null;
      if (stopTrace) {
        const tuningStarted = performance.now();
        const decided = await tuneConv2d(stopTrace());
        stopTrace = null;
        if (decided.length > 0)
          log(
            `tuned ${decided.length} convolution kernels (${describeChoices(decided)}) in ${((performance.now() - tuningStarted) / 1000).toFixed(1)} s`,
          );
        started += performance.now() - tuningStarted; // images/s counts training only
      }
      runtime().flush(); // the GPU runs this step while the previous one's numbers are read
      await settle();
      pending = Promise.all([loss.toArray(), logits.toArray()]).finally(() =>
        [loss, logits].forEach((t) => t.dispose()),
      );
      pendingBatch = { labels: batch.labels, size: batch.size, step, lr };
      if (options.shouldStop?.() || signal?.aborted) {
        await settle();
        const steps = step - (epoch - 1) * stepsPerEpoch;
        await saveCheckpoint(checkpointPath, config, model, optimizer, {
          epoch: epoch - 1,
          step,
          rngState: epochStart,
          partial: { steps, seen, lossSum, wrong },
        });
        await writeFile(join(outDir, METRICS), history.map((m) => JSON.stringify(m)).join('\n') + '\n');
        log(`stopped at step ${step} (epoch ${epoch}, ${steps} steps in); checkpoint written to ${checkpointPath}`);
        interrupted = true;
        break;
      }
    }
    if (interrupted) break;
    await settle();
    const seconds = (performance.now() - started) / 1000;
    const result = await evaluate(model, dataset, dataset.test, config.testLimit);
    const metrics: EpochMetrics = {
      kind: 'epoch',
      epoch,
      step,
      lr: optimizer.lr,
      trainLoss: lossSum / seen,
      trainError: wrong / seen,
      testLoss: result.loss,
      testError: result.error,
      imagesPerSecond: imagesTimed / seconds,
      seconds,
    };
    history.push(metrics);
    await saveCheckpoint(checkpointPath, config, model, optimizer, { epoch, step, rngState: generator.getState() });
    await writeFile(join(outDir, METRICS), history.map((m) => JSON.stringify(m)).join('\n') + '\n');
    await writeCurves(outDir, history);
    options.progress?.done(
      `epoch ${epoch}/${config.epochs}: train loss ${metrics.trainLoss.toFixed(4)} error ${(100 * metrics.trainError).toFixed(2)}%, test loss ${metrics.testLoss.toFixed(4)} error ${(100 * metrics.testError).toFixed(2)}%, ${metrics.imagesPerSecond.toFixed(1)} img/s, ${seconds.toFixed(1)} s`,
    );
    // A stop that came during the evaluation: this epoch's checkpoint is the place to stop.
    if (signal?.aborted && epoch < lastEpoch) {
      log(`stopped after epoch ${epoch} (step ${step}); checkpoint written to ${checkpointPath}`);
      interrupted = true;
      break;
    }
  }
  model.dispose();
  optimizer.buffers.forEach((b) => b?.dispose());
  return { epochs: history.filter((m): m is EpochMetrics => m.kind === 'epoch'), interrupted, started: true };
}

/** "20 matmul, 12 subgroup, 6 portable": how many roles the tuner gave each kernel. */
function describeChoices(decided: readonly TunedChoice[]): string {
  const counts = new Map<string, number>();
  for (const d of decided) counts.set(d.choice, (counts.get(d.choice) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([choice, n]) => `${n} ${choice}`)
    .join(', ');
}

async function readMetrics(path: string): Promise<(EpochMetrics | StepMetrics)[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function writeCurves(outDir: string, history: (EpochMetrics | StepMetrics)[]): Promise<void> {
  const epochs = history.filter((m): m is EpochMetrics => m.kind === 'epoch');
  const steps = history.filter((m): m is StepMetrics => m.kind === 'step');
  await writeFile(
    join(outDir, 'error.svg'),
    lineChart('top-1 error', 'epoch', 'error (%)', [
      { label: 'train', points: epochs.map((m) => [m.epoch, 100 * m.trainError]), color: '#1f77b4', dashed: true },
      { label: 'test', points: epochs.map((m) => [m.epoch, 100 * m.testError]), color: '#1f77b4' },
    ]),
  );
  await writeFile(
    join(outDir, 'loss.svg'),
    lineChart('training loss', 'step', 'loss', [
      { label: 'train loss', points: steps.map((m) => [m.step, m.loss]), color: '#d62728' },
    ]),
  );
}

export { evaluate, type Evaluation } from './evaluate.js';
