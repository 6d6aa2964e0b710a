// The tuning cache's store in Node: one JSON file shared by every adapter, written to a
// temporary file and renamed, so a crash mid-write leaves the old cache, never half of one.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TuningStore } from '../runtime/platform.js';

export function fileTuningStore(file: string): TuningStore {
  return {
    read() {
      try {
        const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
        return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, Record<string, string>>)
          : {};
      } catch {
        return {};
      }
    },
    write(all) {
      mkdirSync(dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(all, null, 1));
      renameSync(temporary, file);
    },
  };
}
