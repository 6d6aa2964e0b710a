// The autotuner, for any op with interchangeable kernels: it times the candidates that
// apply to one call (a key), keeps the fastest in runtime().tuning (the TuningCache, which
// persists), and answers later calls from there. A key names what is tuned and digests the
// candidates' kernel sources and names: a choice holds for the kernels it timed, so an
// edited kernel or a new candidate set is timed afresh. conv2d tunes its variants here
// (src/ops/conv2d/registry.ts).
import { runtime } from '../runtime/index.js';

/** One kernel (or way to run an op) the tuner may time. */
export interface TuneCandidate<Name extends string> {
  name: Name;
  /** Records one run of the work on this candidate (it disposes what it creates). */
  run: () => void;
}

/** What one tuning decided. */
export interface Tuned<Name extends string> {
  key: string;
  choice: Name;
  /** Best GPU time of each candidate timed, ms. */
  ms: Partial<Record<Name, number>>;
}

/** A kernel variant as a registry (conv2d's, matmul's) declares it to the tuner. */
export interface KeyedCandidate {
  readonly name: string;
  /** The kernels it dispatches: their sources' digests key the tuner's choices. */
  readonly kernels: readonly string[];
  /** Raised when the host code changes how it runs its kernels (tiles, work per invocation),
   *  which the kernels' digests cannot see, so that stored choices are timed again. */
  readonly planVersion?: number;
  /** Timed by the tuner on hardware adapters only: a variant built for GPUs that a software
   *  adapter runs many times slower than the others (it still runs there when forced, and
   *  its tests run on every adapter). */
  readonly tunedOnHardwareOnly?: boolean;
}

/** Whether the tuner times `variant` on this adapter (`software`: a CPU adapter). */
export const timedOnAdapter = (variant: KeyedCandidate, software: boolean) =>
  !(software && variant.tunedOnHardwareOnly);

/** `names` with `preferred` first, each once: the order variants are timed and tried in. */
export const preferredFirst = <Name extends string>(preferred: readonly Name[], names: readonly Name[]): Name[] => [
  ...new Set([...preferred, ...names]),
];

/** The key of a choice: `subject` (the op, role and shape), then the digests of the
 *  kernels every candidate may run and the candidates' names (with their plan versions
 *  past 1), in the order given. */
export function tuningKey(subject: string, candidates: readonly KeyedCandidate[]): string {
  const kernels = [...new Set(candidates.flatMap((c) => c.kernels))];
  const names = candidates.map((c) => (c.planVersion && c.planVersion > 1 ? `${c.name}@${c.planVersion}` : c.name));
  const versions = [...kernels.map((k) => runtime().kernelDigest(k)), names.join(',')];
  return `${subject} ${versions.join('/')}`;
}

/** Choices forced for a scope (a test pinning a kernel variant), innermost last: each is
 *  removed when the body that forced it returns, or when the promise it returns settles (a
 *  test's backward runs after an await). */
export class ForcedChoices<Name extends string> {
  private readonly stack: { name: Name }[] = [];

  /** The innermost forced choice, if any. */
  get innermost(): Name | undefined {
    return this.stack.at(-1)?.name;
  }

  during<T>(name: Name, body: () => T): T {
    const entry = { name };
    this.stack.push(entry);
    const release = () => void this.stack.splice(this.stack.lastIndexOf(entry), 1);
    let result: T;
    try {
      result = body();
    } catch (error) {
      release();
      throw error;
    }
    if (!(result instanceof Promise)) {
      release();
      return result;
    }
    return result.finally(release) as T;
  }
}

/** The choice stored for `key`, if it is one of `names`. */
export function tunedChoice<Name extends string>(key: string, names: readonly Name[]): Name | undefined {
  const choice = runtime().tuning.get(key);
  return names.find((name) => name === choice);
}

/** Times `candidates` (in order: the first wins a tie) where no choice is stored for `key`
 *  and there are two or more to choose between, stores the fastest and returns what it
 *  decided; else null. */
export async function tune<Name extends string>(
  key: string,
  candidates: readonly TuneCandidate<Name>[],
): Promise<Tuned<Name> | null> {
  if (runtime().tuning.get(key) !== undefined || candidates.length < 2) return null;
  const ms = await bestTimes(candidates);
  let choice = candidates[0].name;
  for (const { name } of candidates) if (ms[name]! < ms[choice]!) choice = name;
  runtime().tuning.set(key, choice);
  return { key, choice, ms };
}

/** Timed runs of each candidate after its warm-up run. */
const TIMED_RUNS = 3;

/** A candidate whose timed run takes this many times the fastest so far is not timed
 *  again: runs of one kernel spread by 10-30% here, not 3x. */
const HOPELESS = 3;

/** Each candidate's fastest of TIMED_RUNS runs after a warm-up, in ms of GPU time; after
 *  one where that run is HOPELESS times the fastest candidate's. The candidates take turns,
 *  run by run: a burst of other load on the machine (seconds, on a shared CPU) then slows
 *  one run of each rather than every run of one, which timing them one after another had
 *  let decide the choice. */
async function bestTimes<Name extends string>(
  candidates: readonly TuneCandidate<Name>[],
): Promise<Partial<Record<Name, number>>> {
  const ms: Partial<Record<Name, number>> = {};
  for (const { run } of candidates) await runtime().time(run);
  let timed = [...candidates];
  for (let round = 0; round < TIMED_RUNS; round++) {
    for (const { name, run } of timed) ms[name] = Math.min(ms[name] ?? Infinity, await runtime().time(run));
    const fastest = Math.min(...timed.map(({ name }) => ms[name]!));
    timed = timed.filter(({ name }) => ms[name]! <= HOPELESS * fastest);
  }
  return ms;
}
