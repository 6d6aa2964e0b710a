// Our engine's three columns: the conv2d and matmul ops, the naive conv kernel that
// `bench conv` keeps as a baseline, and the adapter's FMA ceiling (kernels/fma_probe.wgsl).
// All three are timed as `bench conv` times: GPU timestamps through runtime().time().
// Ours also trains the small ResNeXt, timed by wall clock as the peers' training is.
import { matmul, randn, runtime, tensor, tidy, type Tensor } from '../../src/index.js';
import { smallResnext } from '../../src/models/index.js';
import {
  chooseVariant,
  CONV_ROLES,
  convForward,
  convGradInput,
  convGradWeight,
  traceConv2d,
  tuneConv2d,
} from '../../src/ops/conv2d/index.js';
import { chooseMatmulVariant, tuneMatmul } from '../../src/ops/matmul_variants.js';
import { SGD } from '../../src/optim/index.js';
import { sgdStep } from '../../src/train/step.js';
import { linearGrid } from '../../src/runtime/index.js';
import { empty } from '../../src/tensor.js';
import { naiveForward, timeRuns } from '../../src/bench/conv.js';
import { wallTime, type Contender, type Runner, type Sample } from './contender.js';
import { pseudoRandom, type TrainingWorkload, type Workload } from './workloads.js';

/** One timed run through `bench conv`'s timeRuns, plus the wall time around it. */
async function timeOnce(record: () => Tensor[]): Promise<Sample> {
  const started = performance.now();
  const [ms] = await timeRuns(0, 1, record);
  return { ms, wallMs: performance.now() - started };
}

function runner(inputs: Tensor[], record: () => Tensor[]): Runner {
  return { run: () => timeOnce(record), dispose: () => inputs.forEach((t) => t.dispose()) };
}

const TIMING_NOTE = 'ours, naive and FMA ceiling: GPU timestamp queries around the dispatches, as `resnext bench conv`';

/** Training steps as `resnext train` takes them (sgdStep), on one fixed batch. */
async function trainingRunner(w: TrainingWorkload): Promise<Runner> {
  const model = smallResnext(w.spec);
  model.train();
  const optimizer = new SGD(model.parameters(), { lr: w.lr, momentum: w.momentum });
  const images = pseudoRandom(w.batch * w.input.reduce((a, b) => a * b, 1));
  const labels = Array.from({ length: w.batch }, (_, i) => i % w.spec.numClasses);
  const step = async () => {
    const { loss } = tidy(() => sgdStep(model, optimizer, tensor(images, [w.batch, ...w.input]), labels));
    try {
      return await loss.item(); // the step's work is done once its loss is on the CPU
    } finally {
      loss.dispose();
    }
  };
  // As the trainer: the first step records the model's convolutions, the autotuner times
  // their kernels. In memory only: no cache file is attached, so every run tunes afresh.
  const stopTrace = traceConv2d();
  await step();
  await tuneConv2d(stopTrace());
  return {
    run: () => wallTime(step),
    dispose() {
      model.dispose();
      optimizer.buffers.forEach((b) => b?.dispose());
    },
  };
}

/** The kernel variants the tuner picked, one note per workload, so a reader sees what ran. */
const picked: string[] = [];
const note = (line: string) => void (picked.includes(line) || picked.push(line));

export const ours: Contender = {
  name: 'ours',
  kind: 'ours',
  get notes() {
    return [
      TIMING_NOTE,
      'ours, training: smallResnext() and SGD as `resnext train` uses them, the autotuner run on its convolutions first (in memory)',
      ...picked,
    ];
  },
  prepareTraining: trainingRunner,
  async prepare(w: Workload) {
    if (w.kind === 'matmul') {
      // As for convolutions below: the autotuner's fastest kernel (on a GPU, maybe the tiled one).
      const shape = { M: w.M, K: w.K, N: w.N, transA: false, transB: false };
      await tuneMatmul([shape]);
      note(`ours, ${w.label} ${w.M}x${w.K}x${w.N}: the tuner's pick, '${chooseMatmulVariant(shape).name}'`);
      const [a, b] = [randn([w.M, w.K]), randn([w.K, w.N])];
      return runner([a, b], () => [matmul(a, b)]);
    }
    const g = w.g;
    // Ours as a user gets it: the autotuner's fastest kernel for this shape.
    await tuneConv2d([{ geometry: g, roles: [...CONV_ROLES] }]);
    const variants = CONV_ROLES.map((role) => chooseVariant(role, g).name);
    note(
      `ours, ${w.label}: the tuner's picks, forward '${variants[0]}', grad-input '${variants[1]}', grad-weight '${variants[2]}'`,
    );
    const [x, wt, dy] = [
      randn([g.N, g.C_in, g.H, g.W]),
      randn([g.C_out, g.C_in / g.groups, g.kH, g.kW], { std: 0.1 }),
      randn([g.N, g.C_out, g.H_out, g.W_out]),
    ];
    const forward = () => convForward(x, wt, null, g);
    return runner(
      [x, wt, dy],
      w.mode === 'forward'
        ? () => [forward()]
        : () => [forward(), convGradInput(dy, wt, g), convGradWeight(x, dy, wt.shape, g)],
    );
  },
};

export const naive: Contender = {
  name: 'naive',
  kind: 'baseline',
  notes: ['naive: kernels/conv2d_naive.wgsl, one invocation per output element (forward only)'],
  prepare(w: Workload) {
    if (w.kind !== 'conv') return Promise.resolve('no naive matmul');
    if (w.mode !== 'forward') return Promise.resolve('forward only');
    const g = w.g;
    const [x, wt] = [randn([g.N, g.C_in, g.H, g.W]), randn([g.C_out, g.C_in / g.groups, g.kH, g.kW], { std: 0.1 })];
    return Promise.resolve(runner([x, wt], () => [naiveForward(x, wt, g)]));
  },
};

/** Enough work for tens of milliseconds on lavapipe, well above the timer's resolution. */
const PROBE = { WG: 64, workgroups: 512, LOOPS: 1024, CHAINS: 12 };

export const fmaCeiling: Contender = {
  name: 'FMA ceiling',
  kind: 'ceiling',
  notes: [
    `FMA ceiling: kernels/fma_probe.wgsl, ${PROBE.CHAINS} independent fma chains per invocation, no memory traffic, measured in every row's rounds`,
  ],
  prepare() {
    const invocations = PROBE.WG * PROBE.workgroups;
    const out = empty([invocations]);
    const record = () => {
      runtime().dispatch({
        kernel: 'fma_probe',
        constants: { WG: PROBE.WG, LOOPS: PROBE.LOOPS },
        buffers: [out.buffer('fma_probe', 'out')],
        workgroups: linearGrid(PROBE.workgroups),
      });
      return [];
    };
    return Promise.resolve({ ...runner([out], record), flops: 2 * PROBE.CHAINS * PROBE.LOOPS * invocations });
  },
};
