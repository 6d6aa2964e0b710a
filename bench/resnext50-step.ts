// One training step of resnext50_32x4d on random data, by wall clock: forward, cross-entropy,
// backward and an SGD update (the paper's: lr 0.1 per 256 images, momentum 0.9, weight decay 1e-4), timed until the step's loss
// is read back, after one untimed warm-up step (it compiles the pipelines and fills the
// buffer pool). `npx tsx bench/resnext50-step.ts [--batch N] [--size S] [--steps N] [--tune]`.
// Default: batch 32 at 224x224 on a GPU; on a CPU adapter (lavapipe, SwiftShader), where such
// a step takes minutes, smaller ones unless --batch or --size is given, and the result says so.
// Run `node scripts/embed-kernels.mjs` first in a fresh clone (bench/device.sh does).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const GPU_DEFAULT = { batch: 32, size: 224 };
/** On a CPU adapter: 4 images at 224 took 16 s a step on lavapipe (2 cores, one run). */
const CPU_DEFAULT = { batch: 4, size: 224 };
const CLASSES = 1000;

const USAGE = `usage: npx tsx bench/resnext50-step.ts [options]
  --batch N    images per step (default ${GPU_DEFAULT.batch}; on a CPU adapter ${CPU_DEFAULT.batch})
  --size S     input height and width (default ${GPU_DEFAULT.size}; on a CPU adapter ${CPU_DEFAULT.size})
  --steps N    timed steps after the warm-up step (default 3)
  --tune       autotune the convolution kernels on the warm-up step's shapes, as resnext train
               does (in memory only); seconds on a GPU, minutes on a CPU adapter
  --json FILE  also write the result as JSON
Prints one line starting 'result:' with seconds/step, images/s and the pool's peak GPU memory.`;

interface Options {
  batch?: number;
  size?: number;
  steps: number;
  tune: boolean;
  json?: string;
  help: boolean;
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${flag} '${text}' must be a positive integer`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      batch: { type: 'string' },
      size: { type: 'string' },
      steps: { type: 'string' },
      tune: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const size = positive('size', values.size);
  const batch = positive('batch', values.batch);
  // Five stride-2 layers leave ceil(size / 32) pixels a side in stage 4, and a training
  // BatchNorm needs more than one value per channel there.
  const last = Math.ceil((size ?? GPU_DEFAULT.size) / 32);
  if ((batch ?? 2) * last * last < 2)
    throw new Error(`--batch ${batch} at --size ${size} leaves stage 4 one value per channel; use --batch 2`);
  return {
    batch,
    size,
    steps: positive('steps', values.steps) ?? 3,
    tune: values.tune,
    json: values.json,
    help: values.help,
  };
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(`resnext50-step: ${(e as Error).message}\n${USAGE}`);
  process.exit(1);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

// After the argument checks, so that --help and a typo need no device.
const engine = await import('../src/index.js');
const { crossEntropy, models, optim, randn, runtime, tidy } = engine;

const report = runtime().report;
const adapter = engine.describeAdapter(report);
const shrunk = report.software && options.batch === undefined && options.size === undefined;
const chosen = shrunk ? CPU_DEFAULT : GPU_DEFAULT;
const batch = options.batch ?? chosen.batch;
const size = options.size ?? chosen.size;
const note = shrunk
  ? `CPU adapter: batch ${batch} at ${size}x${size} instead of ${GPU_DEFAULT.batch} at ${GPU_DEFAULT.size}x${GPU_DEFAULT.size} (a full step would take minutes here)`
  : '';
console.log(`adapter: ${adapter}`);
if (note) console.log(`note: ${note}`);

const model = models.resnext50_32x4d({ numClasses: CLASSES });
model.train();
const optimizer = new optim.SGD(model.parameters(), { lr: (0.1 * batch) / 256, momentum: 0.9, weightDecay: 1e-4 });
const images = randn([batch, 3, size, size]);
const labels = Array.from({ length: batch }, (_, i) => (i * 7) % CLASSES);

/** One step; resolves once its loss is on the CPU, so the GPU's work for it is done. */
async function step(): Promise<number> {
  const loss = tidy(() => {
    const l = crossEntropy(model.forward(images), labels);
    l.backward();
    optimizer.step();
    optimizer.zeroGrad();
    return l;
  });
  try {
    return await loss.item();
  } finally {
    loss.dispose();
  }
}

/** The warm-up step, traced and followed by the autotuner when --tune is given. */
async function warmUp(): Promise<{ seconds: number; tuneSeconds: number; loss: number }> {
  const started = performance.now();
  let tuneSeconds = 0;
  if (!options.tune) return { loss: await step(), seconds: (performance.now() - started) / 1000, tuneSeconds };
  const { traceConv2d, tuneConv2d } = await import('../src/ops/conv2d/index.js');
  const stopTrace = traceConv2d();
  const loss = await step();
  const seconds = (performance.now() - started) / 1000;
  const tuneStarted = performance.now();
  await tuneConv2d(stopTrace());
  tuneSeconds = (performance.now() - tuneStarted) / 1000;
  return { loss, seconds, tuneSeconds };
}

const MIB = 2 ** 20;
const warm = await warmUp();
console.log(
  `warm-up step: ${warm.seconds.toFixed(2)} s, loss ${warm.loss.toFixed(3)}` +
    (options.tune ? `; autotuning ${warm.tuneSeconds.toFixed(1)} s` : ''),
);
runtime().pool.resetPeak();
const times: number[] = [];
let lastLoss = NaN;
for (let i = 0; i < options.steps; i++) {
  const started = performance.now();
  lastLoss = await step();
  times.push((performance.now() - started) / 1000);
  console.log(`step ${i + 1}/${options.steps}: ${times[i].toFixed(3)} s, loss ${lastLoss.toFixed(3)}`);
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor((sorted.length - 1) / 2)];
const stats = runtime().stats();
const result = {
  model: 'resnext50_32x4d',
  adapter,
  software: report.software,
  batch,
  size,
  steps: options.steps,
  tuned: options.tune,
  note,
  secondsPerStep: median,
  stepSeconds: times,
  imagesPerSecond: batch / median,
  peakInUseBytes: stats.peakInUseBytes,
  poolAllocatedBytes: stats.allocatedBytes,
  warmupSeconds: warm.seconds,
  tuneSeconds: warm.tuneSeconds,
  loss: lastLoss,
};
const what = `median of ${options.steps} timed step${options.steps === 1 ? '' : 's'} after 1 warm-up`;
console.log(
  `result: resnext50_32x4d training step, batch ${batch} at ${size}x${size}, ` +
    `${median.toFixed(3)} s/step, ${result.imagesPerSecond.toFixed(2)} images/s (${what}, wall clock, ` +
    `${options.tune ? 'autotuned' : 'default'} kernels), peak GPU memory in use ${(stats.peakInUseBytes / MIB).toFixed(0)} MiB ` +
    `(pool ${(stats.allocatedBytes / MIB).toFixed(0)} MiB)`,
);
if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
model.dispose();
await engine.shutdown();
