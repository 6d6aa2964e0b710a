// Argument checks shared by the ops: they run before any GPU work and throw typed errors
// that name the op, the argument and the shapes.
import { ArgumentError, fmtShape, ShapeError, type Shape } from '../errors.js';
import { Tensor } from '../tensor.js';

/** The largest rank the strided kernels index (their Params hold 8 sizes per side). */
export const MAX_RANK = 8;

export function expectTensor(op: string, argument: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) {
    throw new ArgumentError(op, argument, `must be a Tensor, got ${value === null ? 'null' : typeof value}`);
  }
  value.buffer(op, argument); // throws if disposed or its device is gone
  return value;
}

export function expectFinite(op: string, argument: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ArgumentError(op, argument, `must be a finite number, got ${String(value)}`);
  }
  return value;
}

export function expectRank(op: string, argument: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) throw new ShapeError(op, argument, `must have rank ${rank}, got shape ${fmtShape(t.shape)}`);
}

export function expectShape(op: string, argument: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new ArgumentError(op, argument, `must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (shape.length > MAX_RANK)
    throw new ArgumentError(op, argument, `has rank ${shape.length}; at most ${MAX_RANK} is supported`);
  return shape as number[]; // every entry checked above
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        op,
        'other',
        `has shape ${fmtShape(b)}, which does not broadcast with input shape ${fmtShape(a)} (dimension ${i}: ${da} vs ${db})`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  if (rank > MAX_RANK)
    throw new ShapeError(op, 'input', `broadcasts to rank ${rank}; at most ${MAX_RANK} is supported`);
  return out;
}

/** Strides that read a tensor of `shape` as if it had the (larger) `target` shape. */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const strides: number[] = [];
  let s = 1;
  for (let i = target.length - 1; i >= 0; i--) {
    const d = shape[shape.length - target.length + i] ?? 1;
    strides[i] = d === 1 && target[i] !== 1 ? 0 : s;
    s *= d;
  }
  return strides;
}

/** Normalises axes (negative allowed) and rejects out-of-range or repeated ones. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -Math.max(rank, 1) || a >= Math.max(rank, 1)) {
      throw new ArgumentError(op, 'axis', `${a} is out of range for a tensor of rank ${rank}`);
    }
    return a < 0 ? a + Math.max(rank, 1) : a;
  });
  if (new Set(out).size !== out.length) throw new ArgumentError(op, 'axis', `repeats an axis: ${JSON.stringify(list)}`);
  // A 0-d tensor accepts axis 0 (or -1) as PyTorch does, and has nothing to reduce.
  return rank === 0 ? [] : out.sort((x, y) => x - y);
}
