// Concatenation and slicing along any axis (the row copy in kernels/fill.wgsl): cat and
// narrow, each the other's backward; and strided slicing (kernels/elementwise.wgsl).
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError, type Shape } from '../errors.js';
import { empty, type Tensor } from '../tensor.js';
import { stridedCopy } from './elementwise.js';
import { copyRows, zeros } from './fill.js';
import { expectTensor, normalizeAxes } from './validate.js';

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Elements before `axis` (rows) and from `axis` on (one row) for a shape. */
function rowsAndRow(shape: Shape, axis: number): [number, number] {
  return [product(shape.slice(0, axis)), product(shape.slice(axis))];
}

/** Like torch.cat: joins tensors along `axis`; all other dims must match. */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  // Checked as unknown: Array.isArray would narrow `tensors` itself to any[] (plain JavaScript
  // callers can pass anything).
  const given: unknown = tensors;
  if (!Array.isArray(given) || given.length === 0)
    throw new ArgumentError('cat', 'tensors', 'must be a non-empty array of tensors');
  tensors.forEach((t, i) => expectTensor('cat', `tensors[${i}]`, t));
  const first = tensors[0];
  if (first.rank === 0) throw new ShapeError('cat', 'tensors[0]', 'is 0-d; there is no axis to join along');
  const [a] = normalizeAxes('cat', axis, first.rank);
  tensors.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d: number, k: number) => k !== a && d !== first.shape[k])) {
      throw new ShapeError(
        'cat',
        `tensors[${i}]`,
        `has shape ${fmtShape(t.shape)}, which differs from tensors[0] ${fmtShape(first.shape)} outside axis ${a}`,
      );
    }
  });
  const shape = [...first.shape];
  shape[a] = tensors.reduce((s, t) => s + t.shape[a], 0);
  const out = empty(shape);
  const [rows, outRow] = rowsAndRow(shape, a);
  let offset = 0;
  const starts = tensors.map((t) => {
    const n = rowsAndRow(t.shape, a)[1];
    copyRows('cat', t, out, { n, rows, dstOffset: offset, dstRow: outRow });
    offset += n;
    return offset - n;
  });
  const inner = product(shape.slice(a + 1));
  return record(out, 'cat', tensors, { reads: [] }, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? sliceCopy(g, a, starts[i] / inner, t.shape[a]) : null)),
  );
}

function sliceCopy(x: Tensor, axis: number, start: number, length: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = length;
  const out = empty(shape);
  const [rows, srcRow] = rowsAndRow(x.shape, axis);
  const inner = product(x.shape.slice(axis + 1));
  copyRows('narrow', x, out, { n: length * inner, rows, srcOffset: start * inner, srcRow });
  return out;
}

/** Like torch.narrow: the `length` entries of `axis` from `start` (a copy). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  expectTensor('narrow', 'input', x);
  if (x.rank === 0) throw new ShapeError('narrow', 'input', 'is 0-d; there is no axis to narrow');
  const [a] = normalizeAxes('narrow', axis, x.rank);
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > x.shape[a]) {
    throw new ArgumentError(
      'narrow',
      'start/length',
      `${start}/${length} do not fit axis ${a} of size ${x.shape[a]} (input ${fmtShape(x.shape)})`,
    );
  }
  const out = sliceCopy(x, a, start, length);
  return record(out, 'narrow', [x], { reads: [] }, (g) => {
    const gx = zeros(x.shape);
    const [rows, dstRow] = rowsAndRow(x.shape, a);
    const inner = product(x.shape.slice(a + 1));
    copyRows('narrow backward', g, gx, { n: length * inner, rows, dstOffset: start * inner, dstRow });
    return [gx];
  });
}

const contiguousStrides = (shape: Shape) => shape.map((_, i) => product(shape.slice(i + 1)));

/** Every steps[d]-th entry of each axis d from 0, like x[::s0, ::s1, ...] in PyTorch (a copy). */
export function stridedSlice(x: Tensor, steps: readonly number[]): Tensor {
  expectTensor('stridedSlice', 'input', x);
  if (steps.length !== x.rank || !steps.every((s) => Number.isSafeInteger(s) && s >= 1)) {
    throw new ArgumentError(
      'stridedSlice',
      'steps',
      `must be ${x.rank} positive integers (one per axis of input ${fmtShape(x.shape)}), got ${JSON.stringify(steps)}`,
    );
  }
  const shape = x.shape.map((d, i) => Math.ceil(d / steps[i]));
  const strided = contiguousStrides(x.shape).map((s, i) => s * steps[i]);
  const out = empty(shape);
  stridedCopy('stridedSlice', x, strided, out, contiguousStrides(shape), shape);
  return record(out, 'stridedSlice', [x], { reads: [] }, (g) => [stridedScatter(g, x.shape, steps)]);
}

/** stridedSlice's backward: zeros of `shape` holding g at every steps[d]-th entry. */
export function stridedScatter(g: Tensor, shape: Shape, steps: readonly number[]): Tensor {
  const gx = zeros(shape);
  const strided = contiguousStrides(shape).map((s, i) => s * steps[i]);
  stridedCopy('stridedSlice backward', g, contiguousStrides(g.shape), gx, strided, g.shape);
  return gx;
}
