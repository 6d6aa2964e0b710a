import { nd, size, stridesOf, unravel, type NDArray } from './array.js';

export type UnaryOp = 'identity' | 'relu' | 'exp' | 'log' | 'sqrt';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'reluBackward';

const UNARY: Record<UnaryOp, (x: number) => number> = {
  identity: (x) => x,
  relu: (x) => Math.max(x, 0),
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  reluBackward: (g, x) => (x > 0 ? g : 0),
};

/** alpha * f(x) + beta elementwise. */
export function unary(op: UnaryOp, x: NDArray, alpha = 1, beta = 0): NDArray {
  return { data: x.data.map((v) => alpha * UNARY[op](v) + beta), shape: [...x.shape] };
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new Error(`reference: shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    return da === 1 ? db : da;
  });
}

/** Reads x broadcast to `shape`. */
export function broadcastTo(x: NDArray, shape: readonly number[]): NDArray {
  const strides = stridesOf(x.shape);
  const lead = shape.length - x.shape.length;
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    for (let d = 0; d < x.shape.length; d++) off += (x.shape[d] === 1 ? 0 : idx[d + lead]) * strides[d];
    out[i] = x.data[off];
  }
  return { data: out, shape: [...shape] };
}

export function binary(op: BinaryOp, a: NDArray, b: NDArray): NDArray {
  const shape = broadcastShape(a.shape, b.shape);
  const ab = broadcastTo(a, shape).data;
  const bb = broadcastTo(b, shape).data;
  return nd(
    ab.map((v, i) => BINARY[op](v, bb[i])),
    shape,
  );
}
