// One epoch of training: its batches through SGD steps, each step's numbers read back
// while the next one runs, a stop honoured after any step, and the evaluation at its end.
import { tensor } from '../creation.js';
import type { Dataset } from '../data/datasets.js';
import { batches, type Batch } from '../data/loader.js';
import { ResnextError } from '../errors.js';
import type { ResNet } from '../models/resnet.js';
import { learningRate, type Schedule } from '../optim/schedule.js';
import type { SGD } from '../optim/sgd.js';
import type { Generator } from '../random.js';
import { runtime } from '../runtime/index.js';
import { tidy } from '../tensor.js';
import { CheckpointPolicy, type EpochPartial } from './checkpoint-policy.js';
import type { TrainConfig } from './config.js';
import { countWrong, evaluate } from './evaluate.js';
import type { EpochMetrics, MetricsLog } from './metrics.js';
import type { Progress } from './progress.js';
import { ReadBack, type StepNumbers } from './readback.js';
import { sgdStep } from './step.js';
import type { FirstStepTuning } from './tuning.js';

export class TrainingDivergedError extends ResnextError {}

/** What an epoch needs of the run; `step` counts the steps taken, over epochs. */
export interface Run {
  readonly config: TrainConfig;
  readonly dataset: Dataset;
  readonly model: ResNet;
  readonly optimizer: SGD;
  readonly generator: Generator;
  readonly schedule: Schedule;
  readonly stepsPerEpoch: number;
  readonly metrics: MetricsLog;
  readonly policy: CheckpointPolicy;
  readonly tuning: FirstStepTuning;
  readonly log: (line: string) => void;
  readonly progress?: Progress;
  step: number;
}

/** The epoch's running sums, fed by the read-back pipeline. */
class EpochTally {
  seen: number;
  lossSum: number;
  wrong: number;
  /** Images trained by this process (images/s counts only those)... */
  imagesTimed = 0;
  /** ...since this time (moved on by the time spent tuning). */
  started = performance.now();

  constructor(
    private readonly run: Run,
    readonly epoch: number,
    partial: EpochPartial | undefined,
  ) {
    ({ seen: this.seen, lossSum: this.lossSum, wrong: this.wrong } = partial ?? { seen: 0, lossSum: 0, wrong: 0 });
  }

  add(n: StepNumbers): void {
    const { run, epoch } = this;
    if (!Number.isFinite(n.loss)) {
      throw new TrainingDivergedError(
        `the loss became ${n.loss} at step ${n.step} (epoch ${epoch}); stopped, and ${run.policy.describeKept()}. Try a lower --lr.`,
      );
    }
    this.seen += n.size;
    this.imagesTimed += n.size;
    this.lossSum += n.loss * n.size;
    this.wrong += countWrong(n.logits, n.labels, run.dataset.classes.length);
    run.metrics.step({ epoch, step: n.step, lr: n.lr, loss: n.loss });
    run.progress?.update(epoch, {
      step: n.step - (epoch - 1) * run.stepsPerEpoch,
      steps: run.stepsPerEpoch,
      loss: this.lossSum / this.seen,
      accuracy: 1 - this.wrong / this.seen,
      imagesPerSecond: this.imagesTimed / ((performance.now() - this.started) / 1000),
    });
  }

  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}

/**
 * Trains epoch `epoch` (from `partial`, when resuming inside it) and evaluates the model:
 * its metrics, or null when a stop ended it after a step, with that step's checkpoint
 * written.
 */
export async function runEpoch(run: Run, epoch: number, partial?: EpochPartial): Promise<EpochMetrics | null> {
  const tally = new EpochTally(run, epoch, partial);
  const epochStart = run.generator.getState();
  run.model.train();
  const readBack = new ReadBack((n) => tally.add(n));
  let skip = partial?.steps ?? 0;
  const { config, dataset, generator } = run;
  const options = { batchSize: config.batchSize, train: true, augment: config.augment, generator };
  for (const batch of batches(dataset, dataset.train, { ...options, limit: config.trainLimit })) {
    // Resuming inside an epoch: replay its batches (the same random draws) up to where it stopped.
    if (skip > 0) {
      skip--;
      continue;
    }
    await trainStep(run, batch, tally, readBack);
    if (run.policy.stopsAfterStep()) {
      await readBack.settle();
      await stopAfterStep(run, tally, epochStart);
      return null;
    }
  }
  await readBack.settle();
  return finishEpoch(run, tally);
}

/** One SGD step; its loss and logits go to the read-back pipeline once it is submitted. */
async function trainStep(run: Run, batch: Batch, tally: EpochTally, readBack: ReadBack): Promise<void> {
  const { model, optimizer, dataset } = run;
  const lr = learningRate(run.schedule, run.step);
  optimizer.lr = lr;
  const outputs = tidy(() => sgdStep(model, optimizer, tensor(batch.x, [batch.size, ...dataset.shape]), batch.labels));
  const step = ++run.step;
  if (run.tuning.active) tally.started += await run.tuning.afterStep(run.policy.stopping); // images/s: training only
  runtime().flush(); // the GPU runs this step while the previous one's numbers are read
  await readBack.push(outputs, { labels: batch.labels, size: batch.size, step, lr });
}

/** A stop after a step: the checkpoint of where the epoch stands, and the metrics so far. */
async function stopAfterStep(run: Run, tally: EpochTally, epochStart: number[]): Promise<void> {
  const { epoch, seen, lossSum, wrong } = tally;
  const steps = run.step - (epoch - 1) * run.stepsPerEpoch;
  const position = CheckpointPolicy.stepPosition(epoch, run.step, epochStart, { steps, seen, lossSum, wrong });
  await run.policy.save(run.config, run.model, run.optimizer, position);
  await run.metrics.write();
  run.log(`stopped at step ${run.step} (epoch ${epoch}, ${steps} steps in); checkpoint written to ${run.policy.path}`);
}

async function finishEpoch(run: Run, tally: EpochTally): Promise<EpochMetrics> {
  const { seen, lossSum, wrong } = tally;
  const seconds = tally.seconds;
  // A test limit speeds up the evaluations along the way; the run's final figure is on the whole split.
  const limit = tally.epoch === run.config.epochs ? undefined : run.config.testLimit;
  const result = await evaluate(run.model, run.dataset, run.dataset.test, limit);
  return {
    kind: 'epoch',
    epoch: tally.epoch,
    step: run.step,
    lr: run.optimizer.lr,
    trainLoss: lossSum / seen,
    trainError: wrong / seen,
    testLoss: result.loss,
    testError: result.error,
    testImages: result.images,
    imagesPerSecond: tally.imagesTimed / seconds,
    seconds,
  };
}
