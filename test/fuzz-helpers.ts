// Shared by the fuzz suites (fuzz.test.ts: tensor ops; fuzz-nn.test.ts: network layers):
// the fast-check budget and seed, shape and value generators, and the check every fuzzed
// call goes through. FUZZ_RUNS=n raises the budget (default 25 cases per property);
// FUZZ_SEED (else TEST_SEED) picks the cases, and CI passes a fresh one each run, printed
// when a suite loads this module.
import fc from 'fast-check';
import { expect } from 'vitest';
import { ResnextError, runtime } from '../src/index.js';
import type { NDArray } from '../src/reference/index.js';
import { assertClose } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? process.env.TEST_SEED ?? 1234);
export const settings = { numRuns: RUNS, seed: SEED, endOnFailure: true };
console.log(`fuzz: ${RUNS} cases per property, seed ${SEED} (rerun with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`);

const dim = fc.integer({ min: 0, max: 5 });
export const shape = (maxRank = 4) => fc.array(dim, { minLength: 0, maxLength: maxRank });
export const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
export const values = (s: number[]) =>
  Float32Array.from({ length: count(s) }, (_, i) => Math.sin(i * 1.7 + s.length) * 2);

/** Runs `call`; passes if it matches `reference` or throws a ResnextError naming `op`, and nothing goes wrong on the GPU afterwards. */
export async function expectMatchOrTypedError(
  op: string,
  call: () => { toArray(): Promise<Float32Array>; shape: readonly number[] },
  reference: () => NDArray | null,
): Promise<void> {
  let expected: NDArray | null;
  try {
    expected = reference();
  } catch {
    expected = null; // the reference refuses: the op must refuse too
  }
  let out: ReturnType<typeof call>;
  try {
    out = call();
  } catch (error) {
    expect(error, `${op} threw an untyped error`).toBeInstanceOf(ResnextError);
    expect((error as Error).message).toContain(op);
    await runtime().sync();
    return;
  }
  expect(expected, `${op} accepted arguments the reference rejects`).not.toBeNull();
  expect([...out.shape]).toEqual(expected!.shape);
  const got = await out.toArray();
  expect(
    got.every((v) => !Number.isNaN(v)),
    `${op} gave NaN for valid input`,
  ).toBe(true);
  const scale = Math.max(1, ...Array.from(expected!.data, Math.abs));
  assertClose(got, expected!.data, op, { rtol: 1e-4, atol: 1e-4 * scale });
  await runtime().sync();
}
