// Our engine's three columns: the conv2d and matmul ops, the naive conv kernel that
// `bench conv` keeps as a baseline, and the adapter's FMA ceiling (kernels/fma_probe.wgsl).
// All three are timed as `bench conv` times: GPU timestamps through runtime().time().
import { matmul, randn, runtime, type Tensor } from '../../src/index.js';
import { convForward, convGradInput, convGradWeight, tuneConv2d } from '../../src/ops/conv2d.js';
import { linearGrid } from '../../src/runtime/index.js';
import { empty } from '../../src/tensor.js';
import { naiveForward, timeRuns } from '../conv.js';
import type { Contender, Runner, Sample } from './contender.js';
import type { Workload } from './workloads.js';

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

export const ours: Contender = {
  name: 'ours',
  kind: 'ours',
  notes: [TIMING_NOTE],
  async prepare(w: Workload) {
    if (w.kind === 'matmul') {
      const [a, b] = [randn([w.M, w.K]), randn([w.K, w.N])];
      return runner([a, b], () => [matmul(a, b)]);
    }
    const g = w.g;
    // Ours as a user gets it: the autotuner's fastest kernel for this shape.
    await tuneConv2d([{ geometry: g, roles: ['forward', 'grad_input', 'grad_weight'] }]);
    const [x, wt, dy] = [randn([g.N, g.C_in, g.H, g.W]), randn([g.C_out, g.C_in / g.groups, g.kH, g.kW], { std: 0.1 }), randn([g.N, g.C_out, g.H_out, g.W_out])];
    const forward = () => convForward(x, wt, null, g);
    return runner([x, wt, dy], w.mode === 'forward' ? () => [forward()] : () => [forward(), convGradInput(dy, wt, g), convGradWeight(x, dy, wt.shape, g)]);
  },
};

export const naive: Contender = {
  name: 'naive',
  kind: 'baseline',
  notes: ['naive: kernels/conv2d_naive.wgsl, one invocation per output element (forward only)'],
  async prepare(w: Workload) {
    if (w.kind !== 'conv') return 'no naive matmul';
    if (w.mode !== 'forward') return 'forward only';
    const g = w.g;
    const [x, wt] = [randn([g.N, g.C_in, g.H, g.W]), randn([g.C_out, g.C_in / g.groups, g.kH, g.kW], { std: 0.1 })];
    return runner([x, wt], () => [naiveForward(x, wt, g)]);
  },
};

/** Enough work for tens of milliseconds on lavapipe, well above the timer's resolution. */
const PROBE = { WG: 64, workgroups: 512, LOOPS: 1024, CHAINS: 12 };

export const fmaCeiling: Contender = {
  name: 'FMA ceiling',
  kind: 'ceiling',
  notes: [`FMA ceiling: kernels/fma_probe.wgsl, ${PROBE.CHAINS} independent fma chains per invocation, no memory traffic, measured in every row's rounds`],
  async prepare() {
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
    return { ...runner([out], record), flops: 2 * PROBE.CHAINS * PROBE.LOOPS * invocations };
  },
};
