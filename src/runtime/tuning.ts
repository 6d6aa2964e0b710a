// The autotuner's memory: which kernel variant won for an op and shape on this adapter.
// Ops time their candidates (they know what to run); this keeps the winners in memory
// and, once a file is attached, on disk, keyed by the adapter, so a later process on the
// same adapter starts with them.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

type Choices = Record<string, string>;

export class TuningCache {
  private choices = new Map<string, string>();
  private file: string | null = null;

  constructor(private readonly adapter: string) {}

  /** Reads the choices saved for this adapter in `file` and saves new ones there. A file
   *  that is missing or unreadable starts empty (it is a cache: nothing depends on it). */
  attach(file: string): void {
    this.file = file;
    for (const [key, choice] of Object.entries(this.readFile()[this.adapter] ?? {})) {
      if (typeof choice === 'string' && !this.choices.has(key)) this.choices.set(key, choice);
    }
  }

  get(key: string): string | undefined {
    return this.choices.get(key);
  }

  set(key: string, choice: string): void {
    this.choices.set(key, choice);
    if (!this.file) return;
    const all = this.readFile();
    all[this.adapter] = { ...all[this.adapter], [key]: choice };
    // Temporary file, then rename: a crash mid-write leaves the old cache, never half of one.
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(all, null, 1));
    renameSync(temporary, this.file);
  }

  get size(): number {
    return this.choices.size;
  }

  private readFile(): Record<string, Choices> {
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file!, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, Choices>) : {};
    } catch {
      return {};
    }
  }
}
