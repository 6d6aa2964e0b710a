// Batch normalisation over NCHW (kernels/batchnorm.wgsl), like
// torch.nn.functional.batch_norm, with an optional fused residual add and ReLU: in
// training, batch statistics normalise and the running statistics are updated in place.
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import {
  grid,
  kernelContract,
  runtime,
  uniformStruct,
  type Runtime,
  type UniformData,
  type Workgroups,
} from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { reluBackward } from './elementwise.js';
import { cat, narrow } from './slice.js';
import { expectFinite, expectTensor } from './validate.js';

const WG = 64;
/** Elements per vec4 load. */
const LANES = 4;

/** N x C planes of HW elements; eps and momentum as in BatchNormOptions. */
// prettier-ignore
const BATCH_NORM_PARAMS = uniformStruct('BatchNormParams', {
  N: 'u32', C: 'u32', HW: 'u32',
  eps: 'f32', momentum: 'f32',
});
kernelContract('batchnorm', { structs: [BATCH_NORM_PARAMS] });
/** Longer planes are split into segments, one invocation each... */
const MAX_SEGMENT = 1024;
/** ...and so are the planes of tensors with fewer planes than this, to keep a GPU busy. */
const MIN_INVOCATIONS = 2048;

/** How kernels/batchnorm.wgsl splits each (n, c) plane of HW elements: SEGMENTS pieces of
 *  SEGMENT elements (the last may be short), each a whole number of VEC-element loads. */
function segmentation(planes: number, HW: number) {
  const VEC = HW % LANES === 0 ? LANES : 1;
  if (HW === 0) return { VEC, SEGMENT: VEC, SEGMENTS: 1 };
  const wanted = Math.max(Math.ceil(HW / MAX_SEGMENT), Math.ceil(MIN_INVOCATIONS / planes));
  const SEGMENT = Math.ceil(HW / VEC / Math.min(wanted, HW / VEC)) * VEC;
  return { VEC, SEGMENT, SEGMENTS: Math.ceil(HW / SEGMENT) };
}

/** PyTorch's defaults. */
const DEFAULT_MOMENTUM = 0.1;
const DEFAULT_EPS = 1e-5;

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch's momentum). */
  momentum?: number;
  eps?: number;
  /** Apply ReLU to the output in the same pass (and mask its gradient). */
  relu?: boolean;
  /** Added to the normalised values before the ReLU, in the same pass: a ResNet block's
   *  relu(bn3(...) + identity). Shaped like the input. */
  residual?: Tensor | null;
}

export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor,
  bias: Tensor,
  options: BatchNormOptions,
): Tensor {
  const { training, relu = false, residual = null } = options;
  const op = `batchNorm${residual ? 'Add' : ''}${relu ? 'Relu' : ''}`;
  checkArguments(op, x, { weight, bias, running_mean: runningMean, running_var: runningVar }, options);
  const plan = planFor(op, x, options);
  const stats = training ? batchStats(plan, x, runningMean, runningVar) : cat([runningMean!, runningVar!]);
  const y = normalize(plan, x, stats, weight, bias, residual);
  const inputs = residual ? [x, weight, bias, residual] : [x, weight, bias];
  // The backward reads the input (the ReLU's mask is recomputed from it), not the output,
  // except where the mask must come from the output (below).
  const reads = [x, weight, bias, ...(residual && relu ? [y] : [])];
  record(y, op, inputs, { saved: [stats], reads }, (upstream) => {
    // With a residual, the ReLU's mask comes from the output: the gradient is gated first
    // (it is also the residual's) and the passes below run without RELU.
    const g = residual && relu ? reluBackward(op, upstream, y) : upstream;
    const grads = backward(plan, x, stats, weight, bias, g, residual !== null);
    if (!residual) return grads;
    if (residual.requiresGrad) return [...grads, g];
    if (g !== upstream) g.dispose();
    return [...grads, null];
  });
  // What the graph keeps for this backward (x, stats) gives y again in one pass: a
  // convolution that reads y in its own backward need not have the graph hold it meanwhile.
  if (!residual && y.gradFn) y.recompute = () => normalize(plan, x, stats, weight, bias, null);
  return y;
}

/** y = the affine normalisation of x by stats (with residual and ReLU as planned). */
function normalize(
  plan: Plan,
  x: Tensor,
  stats: Tensor,
  weight: Tensor,
  bias: Tensor,
  residual: Tensor | null,
): Tensor {
  const y = empty(x.shape);
  plan.rt.launch(plan.op, {
    kernel: 'batchnorm',
    entry: residual ? 'apply_residual' : 'apply',
    constants: plan.constants,
    bind: residual ? { input: x, stats, weight, bias, residual, out: y } : { input: x, stats, weight, bias, out: y },
    params: plan.params,
    grid: plan.segmentGrid,
  });
  return y;
}

function checkArguments(
  op: string,
  x: Tensor,
  perChannel: Record<string, Tensor | null>,
  { training, momentum = DEFAULT_MOMENTUM, eps = DEFAULT_EPS, residual = null }: BatchNormOptions,
): void {
  expectTensor(op, 'input', x);
  if (x.rank !== 4) throw new ShapeError(op, 'input', `must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (residual !== null && expectTensor(op, 'residual', residual).shape.join() !== x.shape.join()) {
    throw new ShapeError(
      op,
      'residual',
      `has shape ${fmtShape(residual.shape)}, expected the input's ${fmtShape(x.shape)}`,
    );
  }
  const [N, C, H, W] = x.shape;
  for (const [name, t] of Object.entries(perChannel)) {
    if (t === null) continue;
    expectTensor(op, name, t);
    if (t.rank !== 1 || t.shape[0] !== C)
      throw new ShapeError(op, name, `has shape ${fmtShape(t.shape)}, expected [${C}] for input ${fmtShape(x.shape)}`);
  }
  if (!training && (!perChannel.running_mean || !perChannel.running_var))
    throw new ArgumentError(op, 'running_mean', 'and running_var are required in eval mode');
  expectFinite(op, 'eps', eps);
  expectFinite(op, 'momentum', momentum);
  if (training && N * H * W < 2)
    throw new ShapeError(op, 'input', `${fmtShape(x.shape)} has one value per channel; training needs more than one`);
}

/** What every pass of one batchNorm call shares: its uniform, constants and grids. */
interface Plan {
  op: string;
  rt: Runtime;
  C: number;
  params: UniformData;
  constants: Record<string, number>;
  /** One invocation per plane segment, and one per channel. */
  segmentGrid: Workgroups;
  channelGrid: Workgroups;
  /** Per segment: two sums. */
  partials: readonly [number, number];
}

function planFor(
  op: string,
  x: Tensor,
  { training, momentum = DEFAULT_MOMENTUM, eps = DEFAULT_EPS, relu = false }: BatchNormOptions,
): Plan {
  const [N, C, H, W] = x.shape;
  const split = segmentation(N * C, H * W);
  return {
    op,
    rt: runtime(),
    C,
    params: BATCH_NORM_PARAMS.pack({ N, C, HW: H * W, eps, momentum }),
    constants: { WG, RELU: Number(relu), TRAINING: Number(training), ...split },
    segmentGrid: grid.items(N * C * split.SEGMENTS, WG),
    channelGrid: grid.items(C, WG),
    partials: [N * C * split.SEGMENTS, 2],
  };
}

/** Training: the batch's [mean | var] per channel; updates the running statistics. */
function batchStats(plan: Plan, x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null): Tensor {
  const { op, rt, constants, params } = plan;
  const stats = empty([2 * plan.C]);
  const partials = empty(plan.partials);
  const kernel = 'batchnorm';
  rt.launch(op, {
    kernel,
    entry: 'stats_partial',
    constants,
    bind: { input: x, partials },
    params,
    grid: plan.segmentGrid,
  });
  rt.launch(op, {
    kernel,
    entry: 'finalize',
    constants,
    bind: { input: x, partials, stats },
    params,
    grid: plan.channelGrid,
  });
  partials.dispose();
  if (runningMean && runningVar) {
    rt.launch(op, {
      kernel,
      entry: 'update_running',
      constants,
      bind: { stats, running_mean: runningMean, running_var: runningVar },
      params,
      grid: plan.channelGrid,
    });
  }
  return stats;
}

/** [dx, d weight, d bias] for the (gated) upstream gradient g. */
function backward(
  plan: Plan,
  x: Tensor,
  stats: Tensor,
  weight: Tensor,
  bias: Tensor,
  g: Tensor,
  residual: boolean,
): (Tensor | null)[] {
  const { op, rt, params, C } = plan;
  const constants = residual ? { ...plan.constants, RELU: 0 } : plan.constants;
  const kernel = 'batchnorm';
  const common = { input: x, stats, weight, bias, grad: g };
  const partials = empty(plan.partials);
  rt.launch(op, {
    kernel,
    entry: 'backward_partial',
    constants,
    bind: { ...common, partials },
    params,
    grid: plan.segmentGrid,
  });
  const sums = empty([2, C]);
  const finalize = { ...constants, SHIFTED: 0 };
  rt.launch(op, {
    kernel,
    entry: 'finalize',
    constants: finalize,
    bind: { input: x, partials, sums },
    params,
    grid: plan.channelGrid,
  });
  partials.dispose();
  let dx: Tensor | null = null;
  if (x.requiresGrad) {
    dx = empty(x.shape);
    const bind = { ...common, sums, grad_input: dx };
    rt.launch(op, { kernel, entry: 'backward_apply', constants, bind, params, grid: plan.segmentGrid });
  }
  const perChannelGrad = (row: number) => {
    const slice = narrow(sums, 0, row, 1);
    const flat = slice.view([C]);
    slice.dispose();
    return flat;
  };
  const grads = [dx, weight.requiresGrad ? perChannelGrad(1) : null, bias.requiresGrad ? perChannelGrad(0) : null];
  sums.dispose();
  return grads;
}
