// Learning-rate schedules, evaluated per step: the paper's step decay (divide by 10 at
// fixed epochs), cosine annealing, each with an optional linear warm-up.
import { ArgumentError } from '../errors.js';

export type ScheduleKind = 'step' | 'cosine' | 'constant';

export interface Schedule {
  kind: ScheduleKind;
  baseLr: number;
  epochs: number;
  stepsPerEpoch: number;
  /** For 'step': epochs at which the rate is multiplied by gamma. */
  milestones?: number[];
  gamma?: number;
  warmupEpochs?: number;
}

/** The paper's milestones scaled to a run: at 50% and 75% of the epochs. */
export const defaultMilestones = (epochs: number): number[] =>
  [Math.round(epochs * 0.5), Math.round(epochs * 0.75)].filter((e, i, all) => e > 0 && all.indexOf(e) === i);

/** The learning rate for global step `step` (0-based). */
export function learningRate(s: Schedule, step: number): number {
  if (!(s.baseLr > 0)) throw new ArgumentError('schedule', 'lr', `must be a positive number, got ${s.baseLr}`);
  const epoch = step / s.stepsPerEpoch;
  const warmup = s.warmupEpochs ?? 0;
  if (epoch < warmup) return (s.baseLr * (step + 1)) / (warmup * s.stepsPerEpoch);
  switch (s.kind) {
    case 'constant':
      return s.baseLr;
    case 'step': {
      const passed = (s.milestones ?? defaultMilestones(s.epochs)).filter((m) => Math.floor(epoch) >= m).length;
      return s.baseLr * (s.gamma ?? 0.1) ** passed;
    }
    case 'cosine': {
      const progress = (step - warmup * s.stepsPerEpoch) / Math.max(1, (s.epochs - warmup) * s.stepsPerEpoch);
      return 0.5 * s.baseLr * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    }
  }
}
