// GPU memory and time of one training step (forward, backward) and of an eval forward,
// per model and batch: `npx tsx bench/memory.ts resnext50_32x4d 2`. The pool keeps what it
// allocates, so its size after a step is the step's peak. Then memory per image beside
// PyTorch's (when ./torch-python.ts finds one), both measured as the growth of a step's peak
// between two batch sizes, so what does not depend on the batch (weights, gradients, momentum,
// the interpreter and its libraries) cancels.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  crossEntropy,
  describeAdapter,
  models,
  noGrad,
  randn,
  runtime,
  shutdown,
  tidy,
  type Tensor,
} from '../src/index.js';
import type { ModelName } from '../src/models/names.js';
import { describeTorch, torchPython, type TorchPython } from './torch-python.js';

const [name = 'resnext50_32x4d', batchText = '2'] = process.argv.slice(2);
const batch = Number(batchText);
/** Larger batches of the comparison: the training step's, the eval forward's (it needs less an image). */
const TRAIN_LARGER = 2 * batch;
const EVAL_LARGER = 4 * batch;
const { create, input } = models.MODELS[name as ModelName];
const model = create();
const parameters = runtime().stats().allocatedBytes;
const MIB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;

interface Run {
  seconds: number;
  /** The pool's size after the step, less the parameters. */
  pool: number;
  /** The most bytes in use during the step beyond those in use before it. */
  peak: number;
}

/** Runs a step `runs` times (the first compiles its pipelines); returns the last run. */
async function measure(runs: number, step: () => void): Promise<Run> {
  let run: Run = { seconds: NaN, pool: NaN, peak: NaN };
  for (let i = 0; i < runs; i++) {
    const before = runtime().stats().inUseBytes;
    runtime().pool.resetPeak();
    const started = performance.now();
    step();
    await runtime().sync();
    const { allocatedBytes, peakInUseBytes } = runtime().stats();
    run = {
      seconds: (performance.now() - started) / 1000,
      pool: allocatedBytes - parameters,
      peak: peakInUseBytes - before,
    };
  }
  return run;
}

const labels = (n: number) => Array.from({ length: n }, (_, i) => i % 10);
const trainingStep = (n: number) => () =>
  tidy(() => crossEntropy(model.forward(randn([n, ...input])), labels(n)).backward());
/** Outside tidy(): under noGrad the forward lets each intermediate go once used, as torch.no_grad() does. */
const evalForward = (n: number) => () => {
  const x = randn([n, ...input]);
  noGrad(() => model.forward(x)).dispose();
  x.dispose();
};

console.log(`${name}, batch ${batch}, input ${input.join('x')}; parameters and buffers: ${mib(parameters)}`);
model.eval();
const recorded = await measure(2, () => tidy(() => model.forward(randn([batch, ...input]))));
console.log(
  `eval forward: ${recorded.seconds.toFixed(1)} s (second run), GPU pool ${mib(recorded.pool)} beyond the parameters`,
);
const evals = [await measure(1, evalForward(batch)), await measure(1, evalForward(EVAL_LARGER))];
model.train();
const training = await measure(2, trainingStep(batch));
console.log(
  `training step (forward + backward): ${training.seconds.toFixed(1)} s (second run), GPU pool ${mib(training.pool)} beyond the parameters`,
);
console.log(
  `training: about ${mib(training.pool / batch)} of GPU memory per image, plus ${mib(parameters)} for the model`,
);
const trains = [training, await measure(1, trainingStep(TRAIN_LARGER))];
const ourTimes = `${evals[1].seconds.toFixed(1)} s eval at batch ${EVAL_LARGER}, ${trains[1].seconds.toFixed(1)} s training at ${TRAIN_LARGER}`;
const ours = {
  train: (trains[1].peak - trains[0].peak) / batch,
  eval: (evals[1].peak - evals[0].peak) / (EVAL_LARGER - batch),
};
const parameterCount = model.parameters().reduce((n, p) => n + p.size, 0);
const classes = (model.parameters().at(-1) as Tensor).shape[0]; // the classifier's bias
const adapter = describeAdapter(runtime().report);
await shutdown();

interface TorchStep {
  parameters: number;
  peak_kib: number;
  seconds: number;
}

/** One step in a fresh Python process (bench/torch_memory.py), so no earlier peak carries over. */
function torchStep(t: TorchPython, mode: 'train' | 'eval', n: number): TorchStep {
  const script = fileURLToPath(new URL('torch_memory.py', import.meta.url));
  const args = [script, name, String(classes), ...input.map(String), mode, String(n)];
  const run = spawnSync(t.python, args, { env: t.env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`torch_memory.py ${mode} ${n} failed: ${run.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(run.stdout) as TorchStep;
}

/** PyTorch's MiB per image, or why there is none. */
function torchPerImage(): { train: number; eval: number; note: string } | string {
  const t = torchPython();
  if (typeof t === 'string') return t;
  const started = performance.now();
  const [t0, t1, e0, e1] = [
    torchStep(t, 'train', batch),
    torchStep(t, 'train', TRAIN_LARGER),
    torchStep(t, 'eval', batch),
    torchStep(t, 'eval', EVAL_LARGER),
  ];
  if (t0.parameters !== parameterCount) return `its ${name} has ${t0.parameters} parameters, ours ${parameterCount}`;
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  return {
    train: ((t1.peak_kib - t0.peak_kib) * 1024) / batch,
    eval: ((e1.peak_kib - e0.peak_kib) * 1024) / (EVAL_LARGER - batch),
    note: `${describeTorch(t)}; 2 threads (intra- and inter-op); 4 processes in ${seconds} s (steps ${t1.seconds.toFixed(1)} s training at batch ${TRAIN_LARGER}, ${e1.seconds.toFixed(1)} s eval at ${EVAL_LARGER})`,
  };
}

let torch: ReturnType<typeof torchPerImage>;
try {
  torch = torchPerImage();
} catch (e) {
  torch = e instanceof Error ? e.message : String(e);
}
const cell = (bytes: number) => (bytes / MIB).toFixed(1);
console.log(`
Memory per image, MiB: growth of a step's peak from batch ${batch} to ${TRAIN_LARGER} (training) or ${EVAL_LARGER} (eval), over the images added

| engine | training step | eval forward | measured as |
|---|---|---|---|
| ours (WebGPU) | ${cell(ours.train)} | ${cell(ours.eval)} | peak bytes in use in our GPU buffer pool during the step (forward, cross-entropy, backward; eval under noGrad), in one process |
| PyTorch CPU | ${typeof torch === 'string' ? 'n/a' : cell(torch.train)} | ${typeof torch === 'string' ? 'n/a' : cell(torch.eval)} | peak RSS (ru_maxrss) of a fresh process per step (forward, cross-entropy, backward, SGD step; eval under torch.no_grad()) |

- ours: ${adapter}; ${ourTimes}
- PyTorch: ${typeof torch === 'string' ? `skipped: ${torch}` : torch.note}`);
