// Reductions (kernels/reduce.wgsl, through reduce_kernel.ts): sum and mean over axes,
// differentiable.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { broadcastTo } from './elementwise.js';
import { reduceKernel } from './reduce_kernel.js';
import { expectTensor, normalizeAxes } from './validate.js';

function reduction(
  op: 'sum' | 'mean',
  x: Tensor,
  axis: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  expectTensor(op, 'input', x);
  const axes = normalizeAxes(op, axis, x.rank);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  const alpha = op === 'mean' ? 1 / count : 1;
  const kept = reduceKernel(op, x, axes, alpha);
  const out = keepdim
    ? kept
    : kept.view(
        x.shape.filter((_, i) => !axes.includes(i)),
        op,
      );
  if (out !== kept) kept.dispose();
  const keptShape = kept.shape;
  return record(out, op, [x], { reads: [] }, (g) => {
    const withKeptDims = g.view(keptShape);
    const grad = broadcastTo(withKeptDims, x.shape, alpha);
    withKeptDims.dispose();
    return [grad];
  });
}

/** Sum over `axis` (all axes when omitted), like torch.sum. */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduction('sum', x, axis, keepdim);
}

/** Mean over `axis` (all axes when omitted), like torch.mean. */
export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduction('mean', x, axis, keepdim);
}
