// Grouped 2-D convolution: PyTorch's conv2d in NCHW with stride, padding, dilation and
// groups, and its backward (grad-input, grad-weight, grad-bias). Each role runs on the
// variant registry.ts's chooseVariant picks (forced, tuned, else by default).
import { noGrad, record } from '../../autograd.js';
import { ArgumentError, fmtShape, ShapeError, type Shape } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { sharingPads } from '../fill.js';
import { reduceKernel } from '../reduce_kernel.js';
import { stridedScatter, stridedSlice } from '../slice.js';
import { expectTensor } from '../validate.js';
import { convGeometry, type Conv2dOptions, type ConvGeometry } from './geometry.js';
import { chooseVariant, type ConvVariant } from './registry.js';
import { noteUse, tracing } from './trace.js';

/** Forward kernel only: y = conv(x, w) + bias, no graph (on `variant` where it applies). */
export function convForward(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  op = 'conv2d',
  variant?: ConvVariant,
): Tensor {
  return chooseVariant('forward', g, bias !== null, variant).forward!(x, weight, bias, g, op);
}

export function convGradInput(dy: Tensor, weight: Tensor, g: ConvGeometry, variant?: ConvVariant): Tensor {
  return chooseVariant('grad_input', g, false, variant).gradInput!(dy, weight, g);
}

export function convGradWeight(
  x: Tensor,
  dy: Tensor,
  weightShape: Shape,
  g: ConvGeometry,
  variant?: ConvVariant,
): Tensor {
  const partial = chooseVariant('grad_weight', g, false, variant).gradWeight!(x, dy, g);
  // One chunk of partial sums is dW already (a variant that sums everything in one pass).
  const summed = partial.shape[0] === 1 ? partial : reduceKernel('conv2d backward', partial, [0], 1);
  if (summed !== partial) partial.dispose();
  const dw = summed.view(weightShape);
  summed.dispose();
  return dw;
}

/**
 * conv2d(x, weight, bias?, { stride, padding, dilation, groups }), like
 * torch.nn.functional.conv2d: x [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW],
 * bias [C_out] or null.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  expectTensor('conv2d', 'input', x);
  expectTensor('conv2d', 'weight', weight);
  if (bias !== null && !(bias instanceof Tensor)) {
    // conv2d(x, w, { padding }) from plain JavaScript: the options are the fourth argument.
    throw new ArgumentError(
      'conv2d',
      'bias',
      `must be a Tensor or null, got ${typeof bias}; options go in the fourth argument: conv2d(x, weight, null, { padding })`,
    );
  }
  const g = convGeometry(x.shape, weight.shape, options);
  if (bias !== null) {
    expectTensor('conv2d', 'bias', bias);
    if (bias.rank !== 1 || bias.shape[0] !== g.C_out)
      throw new ShapeError('conv2d', 'bias', `has shape ${fmtShape(bias.shape)}, expected [${g.C_out}]`);
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (g.kH * g.kW === 1 && g.padding.every((p) => p === 0) && g.stride.some((s) => s > 1))
    return stridedPointwise(x, weight, bias, g, inputs);
  traceUse(g, x, weight);
  const y = convForward(x, weight, bias, g);
  return record(y, 'conv2d', inputs, { reads: [x, weight] }, (dy) => convGrads(dy, x, weight, bias, g));
}

/** A strided 1x1 convolution reads every stride-th pixel only: it runs as a stride-1 one on
 *  those pixels, which the faster kernels take. The backward slices them out again rather
 *  than have the graph keep the slice: the graph holds x (a block's input) anyway. */
function stridedPointwise(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  inputs: readonly Tensor[],
): Tensor {
  const steps = [1, 1, ...g.stride];
  const sliced = noGrad(() => stridedSlice(x, steps));
  const inner = convGeometry(sliced.shape, weight.shape, { groups: g.groups });
  traceUse(inner, x, weight);
  const y = convForward(sliced, weight, bias, inner);
  sliced.dispose();
  return record(y, 'conv2d', inputs, { reads: [x, weight] }, (dy) => {
    const again = weight.requiresGrad ? stridedSlice(x, steps) : x;
    const [dxSliced, dw, db] = convGrads(dy, again, weight, bias, inner, x.requiresGrad);
    if (again !== x) again.dispose();
    const dx = dxSliced && stridedScatter(dxSliced, x.shape, steps);
    dxSliced?.dispose();
    return [dx, dw, db];
  });
}

/** [dx, dW, db] of y = conv(x, weight) + bias, each where it is wanted (x is read for dW). */
function convGrads(
  dy: Tensor,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  wantsInput = x.requiresGrad,
): (Tensor | null)[] {
  // Where both roles pad dy's rows (7x7 and 14x14 planes), they share one copy.
  return sharingPads(() => [
    wantsInput ? convGradInput(dy, weight, g) : null,
    weight.requiresGrad ? convGradWeight(x, dy, weight.shape, g) : null,
    bias?.requiresGrad ? biasGrad(dy, g) : null,
  ]);
}

function traceUse(g: ConvGeometry, x: Tensor, weight: Tensor): void {
  if (!tracing()) return;
  noteUse(g, [
    'forward',
    ...(x.requiresGrad ? ['grad_input' as const] : []),
    ...(weight.requiresGrad ? ['grad_weight' as const] : []),
  ]);
}

function biasGrad(dy: Tensor, g: ConvGeometry): Tensor {
  const summed = reduceKernel('conv2d backward', dy, [0, 2, 3], 1);
  const db = summed.view([g.C_out]);
  summed.dispose();
  return db;
}
