// The page's settings from its URL: a training config as `resnext train` takes it (the CLI's
// defaults, ?quick for its quick mode, then single overrides), and the page's own knobs.
// For example ?train=2048&test=512&batch=32&epochs=1 trains on a subset.
import { DEFAULTS, QUICK, validateConfig, type TrainConfig } from '../../src/train/config.js';
import type { ModelName } from '../../src/models/names.js';
import type { DatasetName } from '../../src/data/dataset-format.js';
import type { ScheduleKind } from '../../src/optim/schedule.js';

export interface PageOptions {
  config: TrainConfig;
  /** Time the convolution kernels' variants after the first training step. */
  tune: boolean;
  /** Keep a checkpoint in memory every this many steps, besides every epoch's end. */
  checkpointEvery: number;
  /** Images per shape in the convolution benchmark (each shape's own N when absent). */
  benchImages?: number;
  /** Train this many steps as soon as the page is ready (0: wait for the Start button). */
  autotrain: number;
}

/** `software`: the adapter is a CPU emulation, so the defaults shrink to the quick mode. */
export function pageOptions(params: URLSearchParams, software: boolean): PageOptions {
  const number = (name: string): number | undefined => (params.has(name) ? Number(params.get(name)) : undefined);
  const flag = (name: string): boolean | undefined =>
    params.has(name) ? !['0', 'false', 'no'].includes(params.get(name)!) : undefined;
  const given: Partial<TrainConfig> = {
    model: (params.get('model') ?? undefined) as ModelName | undefined,
    dataset: (params.get('dataset') ?? undefined) as DatasetName | undefined,
    epochs: number('epochs'),
    batchSize: number('batch'),
    lr: number('lr'),
    warmupEpochs: number('warmup'),
    schedule: (params.get('schedule') ?? undefined) as ScheduleKind | undefined,
    seed: number('seed'),
    augment: flag('augment'),
    trainLimit: positive('train', number('train')),
    testLimit: positive('test', number('test')),
  };
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const quick = flag('quick') ?? software;
  const config = validateConfig({ ...DEFAULTS, ...(quick ? QUICK : {}), ...defined });
  return {
    config,
    tune: flag('tune') ?? !software,
    checkpointEvery: positive('checkpointEvery', number('checkpointEvery')) ?? 50,
    benchImages: positive('benchImages', number('benchImages')) ?? (software ? 1 : undefined),
    autotrain: number('autotrain') ?? 0,
  };
}

function positive(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0))
    throw new Error(`?${name}=${value} must be a positive whole number`);
  return value;
}
