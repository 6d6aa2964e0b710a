// A kernel's (or fragment's) new source against its built-in one, timed in one process, the
// two taking turns: the way this project measures a kernel change (docs/kernels.md,
// "Measuring a kernel change"). bench/kernel-ab.ts is its command line.
import { runtime } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';

export interface KernelAb {
  /** Fastest GPU time of the workload on the built-in source and on the candidate, in ms. */
  builtin: number;
  candidate: number;
  /** Largest |difference| between the two sources' results (Infinity if their sizes differ). */
  maxDiff: number;
}

const SIDES = ['builtin', 'candidate'] as const;

/** The fastest of `runs` timed runs of `workload` on each source of `kernel`, in turns. After
 *  each swap the workload runs once untimed and the queue drains: lavapipe compiles a
 *  pipeline's shader on its first dispatch, inside that pass's timestamps, and
 *  setKernelSource drops the kernel's pipelines, so a swap followed at once by a timed run
 *  would time a compile. The built-in source is restored however this ends. */
export async function abKernel(kernel: string, source: string, workload: () => Tensor, runs = 12): Promise<KernelAb> {
  const rt = runtime();
  const fastest = { builtin: Infinity, candidate: Infinity };
  const results: Partial<Record<(typeof SIDES)[number], Float32Array>> = {};
  try {
    for (let run = 0; run < runs; run++) {
      for (const side of SIDES) {
        rt.setKernelSource(kernel, side === 'candidate' ? source : null);
        const warm = workload();
        if (run === 0) results[side] = await warm.toArray();
        warm.dispose();
        await rt.sync();
        fastest[side] = Math.min(fastest[side], await rt.time(() => workload().dispose()));
      }
    }
  } finally {
    rt.setKernelSource(kernel, null);
  }
  return { ...fastest, maxDiff: maxAbsDiff(results.builtin!, results.candidate!) };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}
