// Shape ops that move no data: reshape and flatten return views of the same storage.
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { expectTensor } from './validate.js';

/** Like torch.reshape; one dimension may be -1 and is inferred. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('reshape', 'input', x);
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ArgumentError(
      'reshape',
      'shape',
      `${fmtShape(shape)} must hold non-negative integers and at most one -1`,
    );
  }
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (inferred && (known === 0 || x.size % known !== 0)) {
    throw new ShapeError(
      'reshape',
      'shape',
      `${fmtShape(shape)} cannot hold input shape ${fmtShape(x.shape)} (${x.size} elements)`,
    );
  }
  const out = x.view(resolved, 'reshape');
  return record(out, 'reshape', [x], { reads: [] }, (g) => [g.view(x.shape, 'reshape')]);
}

/** Flattens dims from startDim on, like torch.flatten(x, startDim). */
export function flatten(x: Tensor, startDim = 1): Tensor {
  expectTensor('flatten', 'input', x);
  if (!Number.isInteger(startDim) || startDim < 0 || startDim >= Math.max(1, x.rank)) {
    throw new ArgumentError('flatten', 'startDim', `${startDim} is out of range for shape ${fmtShape(x.shape)}`);
  }
  return reshape(x, [...x.shape.slice(0, startDim), x.shape.slice(startDim).reduce((a, b) => a * b, 1)]);
}
