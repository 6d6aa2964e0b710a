// A run's metrics: one line per epoch and one per STEP_LOG_EVERY steps in metrics.jsonl,
// and the curves drawn from them (error.svg, loss.svg). The one place that writes them.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lineChart } from './plot.js';

export interface EpochMetrics {
  kind: 'epoch';
  epoch: number;
  step: number;
  lr: number;
  trainLoss: number;
  trainError: number;
  testLoss: number;
  testError: number;
  /** How many test images testLoss and testError cover (a run may evaluate its earlier
   *  epochs on a prefix of the split; its last epoch covers the whole split). */
  testImages: number;
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

export type Metrics = EpochMetrics | StepMetrics;

export const METRICS_FILE = 'metrics.jsonl';
/** Steps whose number is a multiple of this are logged. */
export const STEP_LOG_EVERY = 10;

export class MetricsLog {
  private constructor(
    private readonly outDir: string,
    private readonly history: Metrics[],
  ) {}

  /** A new run's log (empty), or a resumed one's: what outDir holds up to its checkpoint,
   *  at `step` after `epoch` whole epochs (later lines, from after it, are dropped). */
  static async open(outDir: string, resumeAt?: { step: number; epoch: number }): Promise<MetricsLog> {
    const history = resumeAt
      ? (await readMetrics(join(outDir, METRICS_FILE))).filter(
          (m) => m.step <= resumeAt.step && (m.kind === 'step' || m.epoch <= resumeAt.epoch),
        )
      : [];
    return new MetricsLog(outDir, history);
  }

  get epochs(): EpochMetrics[] {
    return this.history.filter((m): m is EpochMetrics => m.kind === 'epoch');
  }

  get steps(): StepMetrics[] {
    return this.history.filter((m): m is StepMetrics => m.kind === 'step');
  }

  /** Logs a step's loss if its number is one that is logged. */
  step(m: Omit<StepMetrics, 'kind'>): void {
    if (m.step % STEP_LOG_EVERY === 0) this.history.push({ kind: 'step', ...m });
  }

  epoch(m: EpochMetrics): void {
    this.history.push(m);
  }

  /** Rewrites metrics.jsonl with everything logged. */
  async write(): Promise<void> {
    const lines = this.history.map((m) => JSON.stringify(m));
    await writeFile(join(this.outDir, METRICS_FILE), lines.join('\n') + (lines.length ? '\n' : ''));
  }

  /** error.svg (train and test error per epoch) and loss.svg (the logged step losses). */
  async writeCurves(): Promise<void> {
    const epochs = this.epochs;
    await writeFile(
      join(this.outDir, 'error.svg'),
      lineChart('top-1 error', 'epoch', 'error (%)', [
        { label: 'train', points: epochs.map((m) => [m.epoch, 100 * m.trainError]), color: '#1f77b4', dashed: true },
        { label: 'test', points: epochs.map((m) => [m.epoch, 100 * m.testError]), color: '#1f77b4' },
      ]),
    );
    await writeFile(
      join(this.outDir, 'loss.svg'),
      lineChart('training loss', 'step', 'loss', [
        { label: 'train loss', points: this.steps.map((m) => [m.step, m.loss]), color: '#d62728' },
      ]),
    );
  }
}

async function readMetrics(path: string): Promise<Metrics[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Metrics);
}
