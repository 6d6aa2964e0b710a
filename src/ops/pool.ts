// Max pooling (kernels/pool.wgsl), like torch.nn.functional.max_pool2d in floor mode.
// Average pooling to 1x1 is mean over H and W (ops/reduce.ts) and needs no kernel here.
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import { empty, type Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';
import { pair, type Pair } from './conv2d.js';
import { expectTensor } from './validate.js';

const WG = 64;

export interface MaxPoolOptions {
  stride?: Pair;
  padding?: Pair;
}

/** max_pool2d(x, kernelSize, { stride = kernelSize, padding = 0 }) over [N, C, H, W]. */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: MaxPoolOptions = {}): Tensor {
  const op = 'maxPool2d';
  expectTensor(op, 'input', x);
  if (x.rank !== 4) throw new ShapeError(op, 'input', `must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  const k = pair(op, 'kernelSize', kernelSize, 1, 1);
  const stride = pair(op, 'stride', options.stride, k, 1);
  const padding = pair(op, 'padding', options.padding, 0, 0);
  if (padding[0] * 2 > k[0] || padding[1] * 2 > k[1]) {
    throw new ArgumentError(
      op,
      'padding',
      `${padding.join('x')} must be at most half the kernel ${k.join('x')} (as in PyTorch)`,
    );
  }
  const [N, C, H, W] = x.shape;
  const H_out = Math.floor((H + 2 * padding[0] - k[0]) / stride[0]) + 1;
  const W_out = Math.floor((W + 2 * padding[1] - k[1]) / stride[1]) + 1;
  if (H_out < 1 || W_out < 1)
    throw new ShapeError(op, 'input', `${fmtShape(x.shape)} is smaller than the ${k.join('x')} window`);
  const params = () => new Params().u32(N * C, H, W, H_out, W_out, ...k, ...stride, ...padding);
  const y = empty([N, C, H_out, W_out]);
  const argmax = empty([N, C, H_out, W_out]); // u32 indices, stored as raw bits
  const rt = runtime();
  rt.dispatch({
    kernel: 'pool',
    entry: 'max_forward',
    constants: { WG },
    buffers: [x.buffer(op, 'input'), y.buffer(op, 'out'), argmax.buffer(op, 'argmax')],
    params: params(),
    workgroups: linearGrid(Math.ceil(y.size / WG)),
  });
  return record(y, op, [x], (g) => {
    const dx = empty(x.shape);
    rt.dispatch({
      kernel: 'pool',
      entry: 'max_backward',
      constants: { WG },
      buffers: [g.buffer(op, 'grad'), argmax.buffer(op, 'argmax'), dx.buffer(op, 'grad_input')],
      params: params(),
      workgroups: linearGrid(Math.ceil(x.size / WG)),
    });
    return [dx];
  });
}

/** Global average pooling: [N, C, H, W] -> [N, C, 1, 1] (AdaptiveAvgPool2d(1)). */
export function adaptiveAvgPool2d1(x: Tensor): Tensor {
  expectTensor('adaptiveAvgPool2d', 'input', x);
  if (x.rank !== 4)
    throw new ShapeError('adaptiveAvgPool2d', 'input', `must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  return reshape(mean(x, [2, 3]), [x.shape[0], x.shape[1], 1, 1]);
}
