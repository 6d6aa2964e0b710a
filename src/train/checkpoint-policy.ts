// When a run writes its checkpoint, and when it stops. A checkpoint is written at the end
// of every epoch, and where a stop (shouldStop, or the signal: Ctrl-C) ends the run: after
// the step in flight, or after the epoch being evaluated. A stop that comes before the
// first step ends the run with nothing trained and nothing written.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResNet } from '../models/resnet.js';
import type { SGD } from '../optim/sgd.js';
import { saveCheckpoint, type RunPosition } from './checkpoint.js';
import type { TrainConfig } from './config.js';

/** Where an epoch stands: its steps taken, images seen, and their summed loss and errors. */
export type EpochPartial = NonNullable<RunPosition['partial']>;

export interface StopSources {
  /** Asked once after every step. */
  shouldStop?: () => boolean;
  signal?: AbortSignal;
}

export class CheckpointPolicy {
  constructor(
    /** The checkpoint file: written atomically (a temporary file, then a rename). */
    readonly path: string,
    private readonly stops: StopSources,
    /** The last epoch this call trains: a stop during its evaluation changes nothing. */
    readonly lastEpoch: number,
  ) {}

  /** A stop has been asked for by the signal (the one source that can come at any time). */
  get stopping(): boolean {
    return this.stops.signal?.aborted ?? false;
  }

  /** Asked once after every step (shouldStop first, then the signal). */
  stopsAfterStep(): boolean {
    return Boolean(this.stops.shouldStop?.() || this.stops.signal?.aborted);
  }

  /** After epoch's checkpoint: a stop that came during its evaluation ends the run there. */
  stopsAfterEpoch(epoch: number): boolean {
    return this.stopping && epoch < this.lastEpoch;
  }

  /** Where a stop inside `epoch` leaves the run: `--resume` replays the epoch's batches
   *  from `rngState` (its start) and skips `partial.steps` of them. */
  static stepPosition(epoch: number, step: number, rngState: RunPosition['rngState'], partial: EpochPartial) {
    return { epoch: epoch - 1, step, rngState, partial } satisfies RunPosition;
  }

  static epochPosition(epoch: number, step: number, rngState: RunPosition['rngState']) {
    return { epoch, step, rngState } satisfies RunPosition;
  }

  async save(config: TrainConfig, model: ResNet, optimizer: SGD, position: RunPosition): Promise<void> {
    await saveCheckpoint(this.path, config, model, optimizer, position);
  }

  /** For an error that ends the run: what is on disk. */
  describeKept(): string {
    return existsSync(this.path)
      ? `the last good checkpoint (${this.path}) is kept`
      : 'no checkpoint had been written yet';
  }
}

/** A stop before the first step: a new run leaves no trace (so that the same command
 *  starts it again); a resumed one keeps its checkpoint as it was. */
export async function stopBeforeFirstStep(
  outDir: string,
  run: { isNew: boolean; resumed: boolean; checkpointPath: string },
  files: readonly string[],
  log: (line: string) => void,
): Promise<void> {
  if (run.isNew) await Promise.all(files.map((f) => rm(join(outDir, f), { force: true })));
  log(`stopped before the first step; nothing trained${run.resumed ? `, ${run.checkpointPath} as it was` : ''}`);
}
