// One training run in the page, built from the pieces `resnext train` uses (model zoo, SGD,
// LR schedule, batches, sgdStep, evaluation, checkpoint format) but stepped from the page's
// event loop: it pauses between steps, reports every step, and keeps its last checkpoint's
// bytes in memory so that a lost device does not lose the run.
import { tensor } from '../../src/creation.js';
import type { Batch } from '../../src/data/loader.js';
import { batches } from '../../src/data/loader.js';
import type { Dataset } from '../../src/data/dataset-format.js';
import type { ResNet } from '../../src/models/resnet.js';
import { traceConv2d, tuneConv2d, type ConvUse } from '../../src/ops/conv2d/index.js';
import { learningRate, type Schedule } from '../../src/optim/schedule.js';
import { SGD } from '../../src/optim/sgd.js';
import { Generator } from '../../src/random.js';
import { createModel, createOptimizer, createSchedule } from '../../src/train/setup.js';
import { runtime } from '../../src/runtime/index.js';
import { tidy } from '../../src/tensor.js';
import { serializeCheckpoint, type Checkpoint, type RunPosition } from '../../src/train/checkpoint-format.js';
import type { TrainConfig } from '../../src/train/config.js';
import { countWrong, evaluate, type Evaluation } from '../../src/train/evaluate.js';
import { sgdStep } from '../../src/train/step.js';
import type { EpochSummary } from './hook.js';

export interface StepReport {
  step: number;
  loss: number;
  /** The share of the step's batch it got wrong. */
  error: number;
  lr: number;
  /** Over the last few steps. */
  imagesPerSecond: number;
}

export interface SessionListener {
  step(report: StepReport): void;
  epoch(summary: EpochSummary, evaluation: Evaluation): void;
}

export interface SavedCheckpoint {
  bytes: Uint8Array;
  epoch: number;
  step: number;
  fileName: string;
}

export interface SessionOptions {
  /** Time the convolution kernels' variants after the first step (as `resnext train`). */
  tune: boolean;
  /** Keep a checkpoint in memory every this many steps, besides every epoch's end. */
  checkpointEvery: number;
}

interface PendingStep {
  step: number;
  read: Promise<[Float32Array, Float32Array]>;
  labels: Uint8Array;
  size: number;
  lr: number;
}

/** Steps of the live images/s figure. */
const RATE_WINDOW = 20;

export class TrainingSession {
  readonly model: ResNet;
  readonly optimizer: SGD;
  readonly generator: Generator;
  readonly stepsPerEpoch: number;
  readonly losses: number[] = [];
  readonly epochs: EpochSummary[] = [];
  lastCheckpoint: SavedCheckpoint | null = null;
  running = false;
  step = 0;
  /** The step this page started from (a loaded checkpoint's), where `losses` begin. */
  firstStep = 0;
  /** Epochs completed. */
  epoch = 0;
  private readonly schedule: Schedule;
  private stepInEpoch = 0;
  private sums = { seen: 0, lossSum: 0, wrong: 0 };
  private epochStartRng: number[] = [];
  private epochTime = { ms: 0, images: 0 };
  private recent: { ms: number; images: number }[] = [];
  private iterator: Iterator<Batch> | null = null;
  /** Batches to replay without training when a checkpoint resumes inside an epoch. */
  private replay = 0;
  private pending: PendingStep | null = null;
  private clock = 0;
  private tunePending: boolean;

  constructor(
    readonly config: TrainConfig,
    readonly dataset: Dataset,
    private readonly listener: SessionListener,
    private readonly options: SessionOptions,
  ) {
    this.generator = new Generator(config.seed);
    this.model = createModel(config, dataset, this.generator);
    this.optimizer = createOptimizer(config, this.model);
    this.schedule = createSchedule(config, dataset);
    this.stepsPerEpoch = this.schedule.stepsPerEpoch;
    this.tunePending = options.tune;
  }

  /** Continues a checkpoint's run (its config, adjusted by the caller to this page's data). */
  static resume(
    checkpoint: Checkpoint,
    config: TrainConfig,
    dataset: Dataset,
    listener: SessionListener,
    options: SessionOptions,
  ): TrainingSession {
    const session = new TrainingSession(config, dataset, listener, options);
    const { position } = checkpoint;
    session.model.loadStateDict(checkpoint.model, { strict: true });
    session.optimizer.restore(position.step, checkpoint.momentum);
    session.generator.setState(position.rngState);
    session.step = session.firstStep = position.step;
    session.epoch = position.epoch;
    // An epoch interrupted further in than this page's smaller subset has steps restarts.
    if (position.partial && position.partial.steps < session.stepsPerEpoch) {
      const { steps, ...sums } = position.partial;
      session.replay = session.stepInEpoch = steps;
      session.sums = sums;
    }
    return session;
  }

  get done(): boolean {
    return this.epoch >= this.config.epochs;
  }

  get stepsIntoEpoch(): number {
    return this.stepInEpoch;
  }

  /** Trains until `shouldStop` says yes (asked before every step) or the run is done. */
  async run(shouldStop: () => boolean = () => false): Promise<void> {
    if (this.running) throw new Error('this session is already training');
    this.running = true;
    this.model.train();
    this.clock = performance.now();
    try {
      while (!this.done && !shouldStop()) {
        const trace = this.tunePending ? traceConv2d() : null;
        const next = this.dispatch(this.nextBatch());
        if (trace) await this.tune(trace());
        await this.settle(); // the GPU runs this step while the previous one's numbers are read
        this.pending = next;
        if (this.stepInEpoch === this.stepsPerEpoch) await this.endEpoch();
        else if (this.step % this.options.checkpointEvery === 0) await this.checkpoint();
      }
      await this.settle();
    } finally {
      this.running = false;
    }
  }

  /** A checkpoint at the current position (the step in flight read first), kept as the last one. */
  async checkpoint(): Promise<SavedCheckpoint> {
    await this.settle();
    const position: RunPosition =
      this.stepInEpoch === 0
        ? { epoch: this.epoch, step: this.step, rngState: this.generator.getState() }
        : {
            epoch: this.epoch,
            step: this.step,
            rngState: this.epochStartRng,
            partial: { steps: this.stepInEpoch, ...this.sums },
          };
    const bytes = await serializeCheckpoint(this.config, this.model, this.optimizer, position);
    const fileName = `${this.config.model}-${this.config.dataset}-step${this.step}.safetensors`;
    this.lastCheckpoint = { bytes, epoch: this.epoch, step: this.step, fileName };
    return this.lastCheckpoint;
  }

  /** Test loss, error and confusion of the model as it is (a loaded checkpoint's). */
  evaluate(): Promise<Evaluation> {
    return evaluate(this.model, this.dataset, this.dataset.test, this.config.testLimit);
  }

  dispose(): void {
    try {
      this.model.dispose();
      this.optimizer.buffers.forEach((b) => b?.dispose());
    } catch {
      // A lost device has released them already.
    }
  }

  private nextBatch(): Batch {
    if (!this.iterator) {
      this.epochStartRng = this.generator.getState();
      const { batchSize, augment, trainLimit } = this.config;
      this.iterator = batches(this.dataset, this.dataset.train, {
        batchSize,
        train: true,
        augment,
        generator: this.generator,
        limit: trainLimit,
      });
      // Replaying a resumed epoch's batches makes the same random draws as the run did.
      for (; this.replay > 0; this.replay--) this.iterator.next();
    }
    const next = this.iterator.next();
    if (next.done)
      throw new Error(
        `epoch ${this.epoch + 1} ran out of batches after ${this.stepInEpoch} of ${this.stepsPerEpoch} steps`,
      );
    return next.value;
  }

  private dispatch(batch: Batch): PendingStep {
    const lr = learningRate(this.schedule, this.step);
    this.optimizer.lr = lr;
    const { loss, logits } = tidy(() =>
      sgdStep(this.model, this.optimizer, tensor(batch.x, [batch.size, ...this.dataset.shape]), batch.labels),
    );
    this.step++;
    this.stepInEpoch++;
    runtime().flush();
    const read = Promise.all([loss.toArray(), logits.toArray()]).finally(() =>
      [loss, logits].forEach((t) => t.dispose()),
    );
    // A read orphaned by an error elsewhere (a lost device) is not an unhandled rejection;
    // whoever settles it still sees it fail.
    read.catch(() => undefined);
    return { step: this.step, read, labels: batch.labels, size: batch.size, lr };
  }

  private async tune(uses: ConvUse[]): Promise<void> {
    this.tunePending = false;
    await tuneConv2d(uses);
    this.clock = performance.now(); // images/s counts training only
  }

  /** Reads the pending step's loss and predictions into the running figures. */
  private async settle(): Promise<void> {
    const step = this.pending;
    if (!step) return;
    this.pending = null;
    const [loss, logits] = await step.read;
    if (!Number.isFinite(loss[0]))
      throw new Error(`the loss became ${loss[0]} at step ${step.step}; training stopped (try a lower lr)`);
    this.sums.seen += step.size;
    this.sums.lossSum += loss[0] * step.size;
    const wrong = countWrong(logits, step.labels, this.dataset.classes.length);
    this.sums.wrong += wrong;
    this.losses.push(loss[0]);
    const now = performance.now();
    const sample = { ms: now - this.clock, images: step.size };
    this.clock = now;
    this.epochTime = { ms: this.epochTime.ms + sample.ms, images: this.epochTime.images + sample.images };
    this.recent = [...this.recent.slice(1 - RATE_WINDOW), sample];
    const rate = this.recent.reduce((n, s) => n + s.images, 0) / (this.recent.reduce((n, s) => n + s.ms, 0) / 1000);
    this.listener.step({
      step: step.step,
      loss: loss[0],
      error: wrong / step.size,
      lr: step.lr,
      imagesPerSecond: rate,
    });
  }

  private async endEpoch(): Promise<void> {
    await this.settle();
    const evaluation = await this.evaluate();
    const { seen, lossSum, wrong } = this.sums;
    const summary: EpochSummary = {
      epoch: this.epoch + 1,
      step: this.step,
      trainLoss: lossSum / Math.max(seen, 1),
      trainError: wrong / Math.max(seen, 1),
      testLoss: evaluation.loss,
      testError: evaluation.error,
      testImages: evaluation.images,
      imagesPerSecond: this.epochTime.images / (this.epochTime.ms / 1000),
      seconds: this.epochTime.ms / 1000,
    };
    this.epochs.push(summary);
    this.epoch++;
    this.stepInEpoch = 0;
    this.sums = { seen: 0, lossSum: 0, wrong: 0 };
    this.epochTime = { ms: 0, images: 0 };
    this.iterator = null;
    await this.checkpoint();
    this.model.train();
    this.listener.epoch(summary, evaluation);
    this.clock = performance.now();
  }
}
