// Shared test tools: seeded shapes and data, comparison with the CPU reference, and
// gradcheck (GPU backward vs central differences of the float64 reference). They throw
// plain Errors rather than using vitest's expect, so the browser suite runs them too
// (test/browser/kernel-suite.ts, bundled with the browser entry in place of src/index.js).
import { Generator, mul, runtime, sum, tensor, type Tensor } from '../src/index.js';
import { nd, size, type NDArray } from '../src/reference/index.js';

export const SEED = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.TEST_SEED ?? 1234,
);

/** A generator per test, seeded from TEST_SEED and the test's own name. */
export function rngFor(name: string): Generator {
  let h = SEED >>> 0;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return new Generator(h);
}

/** Sizes that catch edge cases: 1, odd, and not a multiple of a workgroup. */
export function randomDim(rng: Generator, max = 9): number {
  const special = [1, 1, 2, 3, 5, 7, 9, 13, 17, 31, 33, 65, 257];
  return rng.random() < 0.5 ? 1 + rng.int(max) : special[rng.int(special.length)];
}

export function randomShape(rng: Generator, rank: number, max = 9): number[] {
  return Array.from({ length: rank }, () => randomDim(rng, max));
}

/** Values in [-1, 1] (or [lo, hi]), kept at least `gap` away from zero for ops with a kink there. */
export function randomData(rng: Generator, n: number, { lo = -1, hi = 1, gap = 0 } = {}): Float32Array {
  return Float32Array.from({ length: n }, () => {
    let v = lo + (hi - lo) * rng.random();
    if (Math.abs(v) < gap) v = v < 0 ? -gap - rng.random() * 0.5 : gap + rng.random() * 0.5;
    return v;
  });
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
  /** Per-element magnitude the error is relative to (e.g. the sum of |terms|); defaults to |expected|. */
  scale?: ArrayLike<number>;
}

/** Throws, naming the worst element, unless every |actual - expected| <= atol + rtol * scale. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  { rtol = 1e-5, atol = 1e-6, scale }: Tolerance = {},
): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const bound = atol + rtol * Math.abs(scale ? scale[i] : expected[i]);
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= bound) && (worst < 0 || err - bound > worstExcess)) {
      worst = i;
      worstExcess = err - bound;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (seed ${SEED})`);
  }
}

export function assertShape(actual: readonly number[], expected: readonly number[], what: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${what}: shape [${actual.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

/** Reads a GPU tensor and compares it with a reference array, shape included. */
export async function expectMatches(t: Tensor, ref: NDArray, what: string, tol?: Tolerance): Promise<void> {
  assertShape(t.shape, ref.shape, what);
  assertClose(await t.toArray(), ref.data, what, tol);
}

export interface GradcheckSpec {
  name: string;
  /** Input values; every input gets requiresGrad. */
  inputs: { data: Float32Array; shape: number[] }[];
  gpu: (...xs: Tensor[]) => Tensor;
  reference: (...xs: NDArray[]) => NDArray;
  rtol?: number;
}

/**
 * Checks the GPU backward of spec.gpu against central differences of spec.reference in
 * float64. The output is contracted with fixed random weights, so every output element
 * contributes with its own weight.
 */
export async function gradcheck(spec: GradcheckSpec, rng: Generator): Promise<void> {
  const xs = spec.inputs.map((i) => tensor(i.data, i.shape, { requiresGrad: true }));
  const out = spec.gpu(...xs);
  const weights = randomData(rng, out.size);
  const w = tensor(weights, [...out.shape]);
  sum(mul(out, w)).backward();
  const h = 1e-6;
  const refInputs = spec.inputs.map((i) => nd(i.data, i.shape));
  const objective = () => {
    const y = spec.reference(...refInputs);
    let s = 0;
    y.data.forEach((v, i) => (s += v * weights[i]));
    return s;
  };
  for (const [k, x] of xs.entries()) {
    const analytic = await x.grad!.toArray();
    const numeric = new Float64Array(size(spec.inputs[k].shape));
    const data = refInputs[k].data;
    for (let j = 0; j < numeric.length; j++) {
      const v = data[j];
      data[j] = v + h;
      const up = objective();
      data[j] = v - h;
      const down = objective();
      data[j] = v;
      numeric[j] = (up - down) / (2 * h);
    }
    const largest = numeric.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(analytic, numeric, `${spec.name}: d/d input ${k}`, {
      rtol: spec.rtol ?? 2e-3,
      atol: 1e-4 * Math.max(1, largest),
    });
  }
  for (const t of [out, w, ...xs]) {
    t.grad?.dispose();
    t.dispose();
  }
}

/** Collects garbage until the pool's in-use bytes hold still, and returns them: tensors that
 *  earlier tests dropped without dispose() are released by a finalizer when collected, which
 *  must not happen in the middle of a test that counts bytes across an await. */
export async function settledInUseBytes(): Promise<number> {
  let last = -1;
  for (let round = 0; round < 10 && runtime().stats().inUseBytes !== last; round++) {
    last = runtime().stats().inUseBytes;
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return runtime().stats().inUseBytes;
}

/** body's result and the `kernel:entry` of every dispatch it made, in order: for tests that
 *  check a fast path they exercise actually ran. */
export async function launchesDuring<T>(body: () => T | Promise<T>): Promise<{ result: T; launched: string[] }> {
  const rt = runtime();
  const launch = rt.launch.bind(rt);
  const launched: string[] = [];
  rt.launch = (op, l) => {
    launched.push(`${l.kernel}:${l.entry ?? 'main'}`);
    launch(op, l);
  };
  try {
    return { result: await body(), launched };
  } finally {
    rt.launch = launch;
  }
}
