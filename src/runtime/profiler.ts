// Per-kernel GPU time from timestamp queries: while profiling, each dispatch runs in its
// own compute pass that writes a timestamp at its start and end; the runtime resolves the
// queries at every submit and hands the times back here.

export interface ProfileRow {
  kernel: string;
  calls: number;
  totalMs: number;
}

export const PROFILE_SLOTS = 2048; // dispatches per submit while profiling

export class Profiler {
  readonly labels: string[] = [];
  private readonly totals = new Map<string, { calls: number; ns: number }>();
  readonly pending = new Set<Promise<void>>();

  constructor(
    readonly querySet: GPUQuerySet,
    readonly resolved: GPUBuffer,
  ) {}

  /** Query indices for the next dispatch's start and end. */
  next(label: string): [number, number] {
    this.labels.push(label);
    return [2 * this.labels.length - 2, 2 * this.labels.length - 1];
  }

  get full(): boolean {
    return this.labels.length >= PROFILE_SLOTS;
  }

  /** Adds the times of one submit's dispatches, given their resolved timestamps. */
  add(labels: string[], stamps: BigUint64Array): void {
    labels.forEach((label, i) => {
      const row = this.totals.get(label) ?? { calls: 0, ns: 0 };
      row.calls++;
      row.ns += Number(stamps[2 * i + 1] - stamps[2 * i]);
      this.totals.set(label, row);
    });
  }

  rows(): ProfileRow[] {
    return [...this.totals]
      .map(([kernel, r]) => ({ kernel, calls: r.calls, totalMs: r.ns / 1e6 }))
      .sort((a, b) => b.totalMs - a.totalMs);
  }
}
