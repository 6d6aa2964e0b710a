// The autotuner's memory: which kernel variant won for an op and shape on this adapter.
// Ops time their candidates (they know what to run); this keeps the winners in memory
// and, once a store is attached, in the platform's store (a file in Node, localStorage in
// a page), keyed by the adapter, so a later process on the same adapter starts with them.
import { platform, type TuningStore } from './platform.js';

export class TuningCache {
  private choices = new Map<string, string>();
  private store: TuningStore | null = null;

  constructor(private readonly adapter: string) {}

  /** Reads the choices saved for this adapter in the store named `name` (a file path in
   *  Node) and saves new ones there. A store that is missing or unreadable starts empty
   *  (it is a cache: nothing depends on it). `retime` forgets the saved choices, so every
   *  shape is timed afresh and its new choice saved: a choice timed while the machine was
   *  busy otherwise stays until its kernels change. */
  attach(name: string | TuningStore, { retime = false }: { retime?: boolean } = {}): void {
    this.store = typeof name === 'string' ? platform().openTuningStore(name) : name;
    if (retime) {
      this.choices.clear();
      return;
    }
    for (const [key, choice] of Object.entries(this.store.read()[this.adapter] ?? {})) {
      if (typeof choice === 'string' && !this.choices.has(key)) this.choices.set(key, choice);
    }
  }

  get(key: string): string | undefined {
    return this.choices.get(key);
  }

  set(key: string, choice: string): void {
    this.choices.set(key, choice);
    if (!this.store) return;
    const all = this.store.read();
    all[this.adapter] = { ...all[this.adapter], [key]: choice };
    this.store.write(all);
  }

  get size(): number {
    return this.choices.size;
  }
}
