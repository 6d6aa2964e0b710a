// The contract every engine in `bench:peers` meets: prepare inputs for a workload once,
// then time one run of it at a time, so the main loop can interleave engines round by round
// (A, B, C, A, B, C, ...) and slow drift on the machine hits all of them alike.
import type { TrainingWorkload, Workload } from './workloads.js';

export type Kind = 'ours' | 'baseline' | 'ceiling' | 'webgpu' | 'cpu';

export interface Sample {
  /** The time the table uses: GPU timestamps for ours (as `bench conv`), wall time for peers. */
  ms: number;
  /** Wall time from the start of recording to the end of the work. */
  wallMs: number;
}

export interface Runner {
  run(): Promise<Sample>;
  dispose(): Promise<void> | void;
  /** Flops of one run when they are not the workload's (the FMA probe). */
  flops?: number;
}

export interface Contender {
  /** Column heading. */
  name: string;
  kind: Kind;
  /** How its numbers were obtained, printed under the table. */
  notes: string[];
  /** A runner for the workload, or a string saying why this engine cannot run it. */
  prepare(w: Workload): Promise<Runner | string>;
  /** A runner of one training step, timed by wall clock until its loss is read back; only
   *  the engines that train have one, and only they get a cell in the training row. */
  prepareTraining?(w: TrainingWorkload): Promise<Runner>;
  close?(): Promise<void>;
}

/** Wall time of `work`, which resolves once the engine's device or CPU has finished it. */
export async function wallTime(work: () => Promise<unknown>): Promise<Sample> {
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  return { ms, wallMs: ms };
}

/** One line of an error, short enough for a table cell. */
export function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/**
 * Imports a peer package from bench/peers/node_modules. The specifier is a variable so the
 * root type-check neither needs nor sees the peers' types; each adapter declares the few
 * members it uses. A CommonJS package (onnxruntime-node, tfjs under Node) may arrive as the
 * namespace's `default` or, when its exports are detected statically, as the namespace.
 */
export async function importPeer<T>(specifier: string, format: 'esm' | 'cjs'): Promise<T> {
  const namespace = (await import(specifier)) as { default?: unknown };
  return (format === 'cjs' ? (namespace.default ?? namespace) : namespace) as T;
}
