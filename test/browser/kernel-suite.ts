// The kernel correctness suite, in a page: the same case checks the Node tests run
// (conv2d forward, grad-input and grad-weight over random grouped configurations and the
// subgroup kernels' shapes, BatchNorm, matmul, the fused SGD step), against the float64
// reference. test/browser-kernels.test.ts bundles this with the browser entry standing in
// for src/index.js and runs it in Chromium, where WebGPU is SwiftShader's.
import { describeAdapter, runtime } from '../../src/index.js';
import { checkResidualCase, checkTrainingCase } from '../batchnorm-cases.js';
import { checkCase, POINTWISE_CASES, randomCase, SAME_CASES } from '../conv-cases.js';
import { rngFor, SEED } from '../helpers.js';
import { checkRandomMatmuls } from '../matmul-cases.js';
import { checkSgdSteps, SGD_SETTINGS } from '../optim-cases.js';

export interface SuiteResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

type Check = [name: string, run: () => Promise<unknown>];

function checks(randomConvCases: number): Check[] {
  const convRng = rngFor('browser conv2d');
  return [
    ...Array.from({ length: randomConvCases }, (_, i): Check => {
      const c = randomCase(convRng, i);
      return [`conv2d random case ${i} (${c.kind})`, () => checkCase(c, convRng, `browser random case ${i}`)];
    }),
    ...[...SAME_CASES, ...POINTWISE_CASES].map((c, i): Check => [
      `conv2d fixed case ${i} (${c.kind})`,
      () => checkCase(c, rngFor(`browser fixed ${i}`), c.kind),
    ]),
    ['batchnorm training with fused relu', () => checkTrainingCase([3, 5, 7, 9])],
    ['batchnorm + residual, training, relu', () => checkResidualCase(true, true)],
    ['batchnorm + residual, eval, no relu', () => checkResidualCase(false, false, [2, 2, 4, 4])],
    ['matmul, 24 random sizes and transposes', () => checkRandomMatmuls(rngFor('browser matmul'), 24)],
    ...SGD_SETTINGS.map((s): Check => [
      `sgd ${JSON.stringify(s)}`,
      () => checkSgdSteps(s, rngFor(`browser sgd ${JSON.stringify(s)}`)),
    ]),
  ];
}

/** The checks' names, the same in Node and in the page for one seed (the test lists them). */
export function checkNames(randomConvCases: number): string[] {
  return checks(randomConvCases).map(([name]) => name);
}

/** Runs every check, one after another, and reports each (a failure does not stop the rest). */
export async function runKernelSuite(
  randomConvCases: number,
): Promise<{ adapter: string; subgroupSize: number | null; seed: number; results: SuiteResult[] }> {
  const results: SuiteResult[] = [];
  for (const [name, run] of checks(randomConvCases)) {
    const start = performance.now();
    try {
      await run();
      results.push({ name, ok: true, ms: performance.now() - start });
    } catch (error) {
      results.push({ name, ok: false, error: String((error as Error).stack ?? error), ms: performance.now() - start });
    }
  }
  return {
    adapter: describeAdapter(runtime().report),
    subgroupSize: runtime().report.subgroupSize,
    seed: SEED,
    results,
  };
}

(globalThis as { runKernelSuite?: typeof runKernelSuite }).runKernelSuite = runKernelSuite;
