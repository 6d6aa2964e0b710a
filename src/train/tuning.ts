// Tuning after the first step: the convolutions the first step ran are traced, and their
// kernel variants timed once it has run; the fastest are kept in the adapter's tuning file.
import { join } from 'node:path';
import { traceConv2d, tuneConv2d, type TunedChoice } from '../ops/conv2d/index.js';
import { runtime } from '../runtime/index.js';

const TUNING_FILE = 'autotune.json';

export class FirstStepTuning {
  private stopTrace: ReturnType<typeof traceConv2d> | null;

  /** Disabled, it traces and tunes nothing. Enabled, it attaches the tuning file in
   *  cacheDir and starts tracing: construct it just before the first step. */
  constructor(
    enabled: boolean,
    cacheDir: string | undefined,
    private readonly log: (line: string) => void,
    retime = false,
  ) {
    if (enabled) runtime().tuning.attach(join(cacheDir ?? '.cache', TUNING_FILE), { retime });
    this.stopTrace = enabled ? traceConv2d() : null;
  }

  /** Ends the trace without tuning (a stop, or a run that ends before its first step):
   *  an open trace would keep every later convolution noting its use. */
  dispose(): void {
    this.stopTrace?.();
    this.stopTrace = null;
  }

  /** Whether the first step's tuning is still to come. */
  get active(): boolean {
    return this.stopTrace !== null;
  }

  /** Call after each step: after the first, tunes what it traced, unless the run is
   *  stopping (the tuning, seconds on a CPU adapter, then waits for the next run).
   *  Returns the milliseconds spent tuning. */
  async afterStep(stopping: boolean): Promise<number> {
    if (this.stopTrace && stopping) this.dispose();
    if (!this.stopTrace) return 0;
    const started = performance.now();
    const decided = await tuneConv2d(this.stopTrace());
    this.stopTrace = null;
    const ms = performance.now() - started;
    if (decided.length > 0)
      this.log(
        `tuned ${decided.length} convolution kernels (${describeChoices(decided)}) in ${(ms / 1000).toFixed(1)} s`,
      );
    return ms;
  }
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
