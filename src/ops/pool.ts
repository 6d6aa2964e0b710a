// Max pooling (kernels/pool.wgsl), like torch.nn.functional.max_pool2d in floor mode.
// Average pooling to 1x1 is mean over H and W (ops/reduce.ts) and needs no kernel here.
import { record, releaseIntermediates } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { grid, kernelContract, runtime, uniformStruct } from '../runtime/index.js';
import { empty, type Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';
import { outputSize, pair, type Pair } from './conv2d/geometry.js';
import { expectTensor } from './validate.js';

const WG = 64;

/** planes = N * C planes of H x W pooled to H_out x W_out by a k_h x k_w window. */
const POOL_PARAMS = uniformStruct('PoolParams', {
  planes: 'u32',
  H: 'u32',
  W: 'u32',
  H_out: 'u32',
  W_out: 'u32',
  k_h: 'u32',
  k_w: 'u32',
  stride_h: 'u32',
  stride_w: 'u32',
  pad_h: 'u32',
  pad_w: 'u32',
});
/** NO_INDEX: the argmax of a window that has seen no element yet. */
kernelContract('pool', { structs: [POOL_PARAMS], consts: { NO_INDEX: 0xffffffff } });

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
  const H_out = outputSize(H, k[0], stride[0], padding[0]);
  const W_out = outputSize(W, k[1], stride[1], padding[1]);
  if (H_out < 1 || W_out < 1)
    throw new ShapeError(op, 'input', `${fmtShape(x.shape)} is smaller than the ${k.join('x')} window`);
  const [k_h, k_w] = k;
  const [stride_h, stride_w] = stride;
  const [pad_h, pad_w] = padding;
  const params = () =>
    POOL_PARAMS.pack({ planes: N * C, H, W, H_out, W_out, k_h, k_w, stride_h, stride_w, pad_h, pad_w });
  const y = empty([N, C, H_out, W_out]);
  const argmax = empty([N, C, H_out, W_out]); // u32 indices, stored as raw bits
  const rt = runtime();
  rt.launch(op, {
    kernel: 'pool',
    entry: 'max_forward',
    constants: { WG },
    bind: { input: x, out: y, argmax },
    params: params(),
    grid: grid.items(y.size, WG),
  });
  return record(y, op, [x], { saved: [argmax], reads: [] }, (g) => {
    const dx = empty(x.shape);
    rt.launch(op, {
      kernel: 'pool',
      entry: 'max_backward',
      constants: { WG },
      bind: { grad: g, argmax, grad_input: dx },
      params: params(),
      grid: grid.items(x.size, WG),
    });
    return [dx];
  });
}

/** Global average pooling: [N, C, H, W] -> [N, C, 1, 1] (AdaptiveAvgPool2d(1)). */
export function adaptiveAvgPool2d1(x: Tensor): Tensor {
  expectTensor('adaptiveAvgPool2d', 'input', x);
  if (x.rank !== 4)
    throw new ShapeError('adaptiveAvgPool2d', 'input', `must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  const means = mean(x, [2, 3]);
  const y = reshape(means, [x.shape[0], x.shape[1], 1, 1]);
  releaseIntermediates(y, means);
  return y;
}
