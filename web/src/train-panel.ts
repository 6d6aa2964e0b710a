// The training panel: start, pause and resume a TrainingSession, its progress and live
// curves, the confusion matrix after each epoch, and checkpoints in and out as safetensors
// files that `resnext eval` and `resnext train --resume` read and write.
import type { Dataset } from '../../src/data/dataset-format.js';
import { checkpointFromBytes } from '../../src/train/checkpoint-format.js';
import { validateConfig, type TrainConfig } from '../../src/train/config.js';
import type { Evaluation } from '../../src/train/evaluate.js';
import { confusionTable, errorChart, lossChart } from './curves.js';
import { byId, download, downloadLink, el, formatCount, messageOf, setStatus } from './dom.js';
import type { EpochSummary, PageState } from './hook.js';
import type { PageOptions } from './params.js';
import { TrainingSession, type SavedCheckpoint, type SessionListener, type StepReport } from './session.js';

/** How often the charts are redrawn while training, at most. */
const DRAW_INTERVAL_MS = 400;

export class TrainPanel implements SessionListener {
  session: TrainingSession;
  error: string | null = null;
  private deviceGone = false;
  private run: Promise<void> | null = null;
  private stopRequested = false;
  private stepErrors: number[] = [];
  private lastStep: StepReport | null = null;
  private lastDraw = 0;
  private shownCheckpoint: SavedCheckpoint | null = null;
  private evaluation: PageState['evaluation'] = null;

  /** `datasetFor` fetches a dataset by name (a loaded checkpoint may name another). */
  constructor(
    private readonly options: PageOptions,
    dataset: Dataset,
    private readonly datasetFor: (name: string) => Promise<Dataset>,
  ) {
    this.session = new TrainingSession(options.config, dataset, this, options);
    byId('train-toggle').addEventListener('click', () => void (this.run ? this.pause() : this.start()));
    byId('checkpoint-save').addEventListener(
      'click',
      () =>
        void this.saveCheckpoint().then(
          (c) => download(c.bytes, c.fileName),
          (e) => this.fail(e),
        ),
    );
    const input = byId<HTMLInputElement>('checkpoint-load');
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (file)
        void file
          .arrayBuffer()
          .then((bytes) => this.loadCheckpoint(new Uint8Array(bytes), file.name))
          .catch((e) => setStatus(`could not load ${file.name}: ${messageOf(e)}`, 'error'));
      input.value = '';
    });
    this.render();
  }

  /** Trains until paused or done; the promise settles when the run stops (rejects on errors). */
  start(stopAfter?: number): Promise<void> {
    if (this.run) return this.run;
    if (this.error) return Promise.reject(new Error(this.error));
    const until = stopAfter === undefined ? Infinity : this.session.step + stopAfter;
    this.stopRequested = false;
    setStatus('training…');
    this.run = this.session
      .run(() => this.stopRequested || this.session.step >= until)
      .then(
        () => setStatus(this.session.done ? 'training finished' : 'paused', 'ok'),
        (error) => {
          this.fail(error);
          throw error;
        },
      )
      .finally(() => {
        this.run = null;
        this.render(true);
      });
    this.run.catch(() => undefined); // shown by fail(); callers that await it still see it
    this.render(true);
    return this.run;
  }

  /** Stops after the step in flight; resolves once stopped. */
  async pause(): Promise<void> {
    this.stopRequested = true;
    await this.run?.catch(() => undefined);
  }

  async trainSteps(steps: number): Promise<{ losses: number[] }> {
    await this.pause();
    const from = this.session.losses.length;
    await this.start(steps);
    return { losses: this.session.losses.slice(from) };
  }

  /** A checkpoint at the current step (a running session pauses for it, then goes on). */
  async saveCheckpoint(): Promise<SavedCheckpoint> {
    const wasRunning = this.run !== null;
    await this.pause();
    const saved = await this.session.checkpoint();
    this.render(true);
    if (wasRunning) void this.start();
    return saved;
  }

  /** Continues the run in a checkpoint (the CLI's or a page's) and evaluates it. */
  async loadCheckpoint(bytes: Uint8Array, source: string): Promise<Evaluation> {
    await this.pause();
    const checkpoint = checkpointFromBytes(bytes, source);
    setStatus(`loading ${source}…`);
    const dataset = await this.datasetFor(checkpoint.config.dataset);
    // The page's subset (?train, ?test) bounds what the checkpoint's run trains on here.
    const page = this.options.config;
    const config: TrainConfig = validateConfig({
      ...checkpoint.config,
      trainLimit: smaller(checkpoint.config.trainLimit, page.trainLimit),
      testLimit: smaller(checkpoint.config.testLimit, page.testLimit),
    });
    const session = TrainingSession.resume(checkpoint, config, dataset, this, this.options);
    this.session.dispose();
    this.session = session;
    this.stepErrors = [];
    this.lastStep = null;
    this.error = null;
    byId('train-error').hidden = true;
    this.evaluation = null;
    session.lastCheckpoint = {
      bytes,
      epoch: checkpoint.position.epoch,
      step: checkpoint.position.step,
      fileName: source,
    };
    setStatus(`evaluating ${source}…`);
    const evaluation = await session.evaluate();
    this.showConfusion(evaluation, `${source} (epoch ${checkpoint.position.epoch}, step ${checkpoint.position.step})`);
    setStatus(`loaded ${source}: test error ${(100 * evaluation.error).toFixed(2)}%; Start continues its run`, 'ok');
    this.render(true);
    return evaluation;
  }

  /** The device is gone: training cannot go on, but the last checkpoint can be kept. */
  deviceLost(reason: string): void {
    this.deviceGone = true;
    this.fail(new Error(`The GPU device was lost (${reason}), so training stopped.`));
  }

  state(): Omit<PageState, 'adapter' | 'classifier'> {
    const { session } = this;
    return {
      dataset: { name: session.dataset.name, train: session.dataset.train.count, test: session.dataset.test.count },
      config: session.config,
      epoch: session.epoch,
      step: session.step,
      stepsPerEpoch: session.stepsPerEpoch,
      running: this.run !== null,
      losses: [...session.losses],
      epochs: [...session.epochs],
      evaluation: this.evaluation,
      checkpointStep: session.lastCheckpoint?.step ?? null,
      error: this.error,
    };
  }

  step(report: StepReport): void {
    this.lastStep = report;
    this.stepErrors.push(report.error);
    this.render();
  }

  epoch(summary: EpochSummary, evaluation: Evaluation): void {
    this.showConfusion(evaluation, `after epoch ${summary.epoch}`);
    this.render(true);
  }

  /** Stops training for good, showing the first cause (a lost device also fails the step in flight). */
  private fail(error: unknown): void {
    if (this.error) return;
    const kept = this.session.lastCheckpoint;
    this.error = messageOf(error);
    const box = byId('train-error');
    box.hidden = false;
    box.replaceChildren(
      el('strong', {}, 'Training stopped. '),
      this.error,
      ' ',
      kept
        ? el(
            'span',
            {},
            'The last checkpoint is kept: ',
            downloadLink(kept.bytes, kept.fileName, `download it (epoch ${kept.epoch}, step ${kept.step})`),
            '.',
          )
        : 'No checkpoint had been kept yet.',
    );
    setStatus('training stopped', 'error');
    this.render(true);
  }

  private showConfusion(evaluation: Evaluation, when: string): void {
    const images = evaluation.confusion.flat().reduce((a, b) => a + b, 0);
    this.evaluation = { loss: evaluation.loss, error: evaluation.error, images };
    byId('confusion-caption').textContent =
      `${formatCount(images)} test images ${when}: test error ${(100 * evaluation.error).toFixed(2)}%, loss ${evaluation.loss.toFixed(4)}`;
    byId('confusion').replaceChildren(confusionTable(evaluation.confusion, this.session.dataset.classes));
  }

  /** Progress, figures and buttons every step; the charts at most every DRAW_INTERVAL_MS. */
  private render(force = false): void {
    const { session } = this;
    const { config } = session;
    byId('train-summary').textContent =
      `${config.model} on ${config.dataset}: ${formatCount(Math.min(session.dataset.train.count, config.trainLimit ?? Infinity))} training and ` +
      `${formatCount(Math.min(session.dataset.test.count, config.testLimit ?? Infinity))} test images, batch ${config.batchSize}, lr ${config.lr} (${config.schedule}` +
      `${config.warmupEpochs ? `, ${config.warmupEpochs} warm-up epoch${config.warmupEpochs > 1 ? 's' : ''}` : ''}), ${config.epochs} epochs${config.augment ? ', augmented' : ''}`;
    const total = config.epochs * session.stepsPerEpoch;
    const done = Math.min(total, session.epoch * session.stepsPerEpoch + session.stepsIntoEpoch);
    byId('train-progress-bar').style.width = `${((100 * done) / total).toFixed(2)}%`;
    byId('train-progress-text').textContent = session.done
      ? `finished: ${config.epochs} epochs, ${formatCount(session.step)} steps`
      : `epoch ${session.epoch + 1} of ${config.epochs} · step ${session.stepsIntoEpoch} of ${session.stepsPerEpoch} · ${((100 * done) / total).toFixed(1)}% of the run`;
    this.renderStats();
    this.renderButtons();
    if (!force && performance.now() - this.lastDraw < DRAW_INTERVAL_MS) return;
    this.lastDraw = performance.now();
    byId('loss-chart').innerHTML = lossChart(session.losses, session.firstStep);
    byId('error-chart').innerHTML = errorChart(this.stepErrors, session.epochs, session.firstStep);
    byId('epoch-table').replaceChildren(...session.epochs.map(epochRow));
  }

  private renderStats(): void {
    const last = this.lastStep;
    const stats: [string, string][] = [
      ['step', formatCount(this.session.step)],
      ['loss', last ? last.loss.toFixed(4) : '—'],
      ['learning rate', last ? last.lr.toPrecision(3) : '—'],
      ['images/s', last ? last.imagesPerSecond.toFixed(1) : '—'],
    ];
    byId('train-stats').replaceChildren(
      ...stats.map(([name, value]) =>
        el('div', { class: 'stat' }, el('span', { class: 'value' }, value), el('span', { class: 'name' }, name)),
      ),
    );
  }

  private renderButtons(): void {
    const toggle = byId<HTMLButtonElement>('train-toggle');
    toggle.textContent = this.run
      ? 'Pause'
      : this.session.done
        ? 'Finished'
        : this.session.step > this.session.firstStep
          ? 'Resume'
          : 'Start training';
    toggle.disabled = this.error !== null || (this.session.done && !this.run);
    byId<HTMLButtonElement>('checkpoint-save').disabled = this.error !== null;
    // A checkpoint recovers from a diverged run, but not from a lost device.
    byId<HTMLInputElement>('checkpoint-load').disabled = this.deviceGone;
    const kept = this.session.lastCheckpoint;
    if (kept === this.shownCheckpoint) return;
    this.shownCheckpoint = kept;
    const slot = byId('checkpoint-last');
    const previous = slot.querySelector('a');
    if (previous) URL.revokeObjectURL(previous.href);
    slot.replaceChildren(
      kept
        ? downloadLink(kept.bytes, kept.fileName, `last checkpoint: epoch ${kept.epoch}, step ${kept.step}`)
        : 'no checkpoint yet',
    );
  }
}

function epochRow(e: EpochSummary): HTMLTableRowElement {
  const cells = [
    String(e.epoch),
    e.trainLoss.toFixed(4),
    `${(100 * e.trainError).toFixed(2)}%`,
    e.testLoss.toFixed(4),
    `${(100 * e.testError).toFixed(2)}%`,
    e.imagesPerSecond.toFixed(1),
  ];
  return el('tr', {}, ...cells.map((c) => el('td', {}, c)));
}

const smaller = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);
