// Batch normalisation over NCHW (kernels/batchnorm.wgsl), like
// torch.nn.functional.batch_norm, with an optional fused residual add and ReLU: in
// training, batch statistics normalise and the running statistics are updated in place.
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { reluBackward } from './elementwise.js';
import { cat, narrow } from './slice.js';
import { expectFinite, expectTensor } from './validate.js';

const WG = 64;
/** Longer planes are split into segments, one invocation each... */
const MAX_SEGMENT = 1024;
/** ...and so are the planes of tensors with fewer planes than this, to keep a GPU busy. */
const MIN_INVOCATIONS = 2048;

/** How kernels/batchnorm.wgsl splits each (n, c) plane of HW elements: SEGMENTS pieces of
 *  SEGMENT elements (the last may be short), each a whole number of VEC-element loads. */
function segmentation(planes: number, HW: number) {
  const VEC = HW % 4 === 0 ? 4 : 1;
  if (HW === 0) return { VEC, SEGMENT: VEC, SEGMENTS: 1 };
  const wanted = Math.max(Math.ceil(HW / MAX_SEGMENT), Math.ceil(MIN_INVOCATIONS / planes));
  const SEGMENT = Math.ceil(HW / VEC / Math.min(wanted, HW / VEC)) * VEC;
  return { VEC, SEGMENT, SEGMENTS: Math.ceil(HW / SEGMENT) };
}

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
  { training, momentum = 0.1, eps = 1e-5, relu = false, residual = null }: BatchNormOptions,
): Tensor {
  const op = `batchNorm${residual ? 'Add' : ''}${relu ? 'Relu' : ''}`;
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
  const perChannel: [string, Tensor | null][] = [
    ['weight', weight],
    ['bias', bias],
    ['running_mean', runningMean],
    ['running_var', runningVar],
  ];
  for (const [name, t] of perChannel) {
    if (t === null) continue;
    expectTensor(op, name, t);
    if (t.rank !== 1 || t.shape[0] !== C)
      throw new ShapeError(op, name, `has shape ${fmtShape(t.shape)}, expected [${C}] for input ${fmtShape(x.shape)}`);
  }
  if (!training && (!runningMean || !runningVar))
    throw new ArgumentError(op, 'running_mean', 'and running_var are required in eval mode');
  expectFinite(op, 'eps', eps);
  expectFinite(op, 'momentum', momentum);
  if (training && N * H * W < 2)
    throw new ShapeError(op, 'input', `${fmtShape(x.shape)} has one value per channel; training needs more than one`);
  const rt = runtime();
  const params = () => new Params().u32(N, C, H * W).f32(eps, momentum);
  const split = segmentation(N * C, H * W);
  const constants = { WG, RELU: Number(relu), TRAINING: Number(training), ...split };
  const segmentGrid = linearGrid(Math.ceil((N * C * split.SEGMENTS) / WG));
  const channelGrid = [Math.ceil(C / WG)] as const;
  const newPartials = () => empty([N * C * split.SEGMENTS, 2]);
  let stats: Tensor;
  if (training) {
    stats = empty([2 * C]);
    const partials = newPartials();
    rt.dispatch({
      kernel: 'batchnorm',
      entry: 'stats_partial',
      constants,
      buffers: [x.buffer(op, 'input'), partials.buffer(op, 'partials')],
      params: params(),
      workgroups: segmentGrid,
    });
    rt.dispatch({
      kernel: 'batchnorm',
      entry: 'finalize',
      constants,
      buffers: [x.buffer(op, 'input'), partials.buffer(op, 'partials'), stats.buffer(op, 'stats')],
      params: params(),
      workgroups: channelGrid,
    });
    partials.dispose();
    if (runningMean && runningVar) {
      rt.dispatch({
        kernel: 'batchnorm',
        entry: 'update_running',
        constants,
        buffers: [
          stats.buffer(op, 'stats'),
          runningMean.buffer(op, 'running_mean'),
          runningVar.buffer(op, 'running_var'),
        ],
        params: params(),
        workgroups: channelGrid,
      });
    }
  } else {
    stats = cat([runningMean!, runningVar!]);
  }
  const y = empty(x.shape);
  rt.dispatch({
    kernel: 'batchnorm',
    entry: residual ? 'apply_residual' : 'apply',
    constants,
    buffers: [
      x.buffer(op, 'input'),
      stats.buffer(op, 'stats'),
      weight.buffer(op, 'weight'),
      bias.buffer(op, 'bias'),
      ...(residual ? [residual.buffer(op, 'residual')] : []),
      y.buffer(op, 'out'),
    ],
    params: params(),
    workgroups: segmentGrid,
  });
  return record(y, op, residual ? [x, weight, bias, residual] : [x, weight, bias], (upstream) => {
    // With a residual, the ReLU's mask comes from the output: the gradient is gated first
    // (it is also the residual's) and the passes below run without RELU.
    const g = residual && relu ? reluBackward(op, upstream, y) : upstream;
    const backwardConstants = residual ? { ...constants, RELU: 0 } : constants;
    const common = [
      x.buffer(op, 'input'),
      stats.buffer(op, 'stats'),
      weight.buffer(op, 'weight'),
      bias.buffer(op, 'bias'),
      g.buffer(op, 'grad'),
    ];
    const partials = newPartials();
    rt.dispatch({
      kernel: 'batchnorm',
      entry: 'backward_partial',
      constants: backwardConstants,
      buffers: [...common, partials.buffer(op, 'partials')],
      params: params(),
      workgroups: segmentGrid,
    });
    const sums = empty([2, C]);
    rt.dispatch({
      kernel: 'batchnorm',
      entry: 'finalize',
      constants: { ...backwardConstants, SHIFTED: 0 },
      buffers: [x.buffer(op, 'input'), partials.buffer(op, 'partials'), sums.buffer(op, 'sums')],
      params: params(),
      workgroups: channelGrid,
    });
    partials.dispose();
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(x.shape);
      rt.dispatch({
        kernel: 'batchnorm',
        entry: 'backward_apply',
        constants: backwardConstants,
        buffers: [...common, sums.buffer(op, 'sums'), dx.buffer(op, 'grad_input')],
        params: params(),
        workgroups: segmentGrid,
      });
    }
    const perChannelGrad = (row: number) => {
      const slice = narrow(sums, 0, row, 1);
      const flat = slice.view([C]);
      slice.dispose();
      return flat;
    };
    const grads = [dx, weight.requiresGrad ? perChannelGrad(1) : null, bias.requiresGrad ? perChannelGrad(0) : null];
    sums.dispose();
    if (!residual) return grads;
    if (residual.requiresGrad) return [...grads, g];
    if (g !== upstream) g.dispose();
    return [...grads, null];
  });
}
