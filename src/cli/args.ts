// What every command shares: argument parsers that name the bad value, and the engine's lifetime.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive integer.`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive number.`);
  return n;
}

/** Runs a command body with the engine loaded, and always releases the device after. */
export async function withEngine(body: (engine: typeof import('../index.js')) => void | Promise<void>): Promise<void> {
  const engine = await import('../index.js');
  try {
    await body(engine);
  } finally {
    await engine.shutdown();
  }
}

/** Where `bench` keeps the autotuner's choices (train keeps them in its --cache-dir). */
export const TUNING_CACHE = '.cache/autotune.json';

export function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative number.`);
  return n;
}
