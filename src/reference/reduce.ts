import { size, stridesOf, unravel, type NDArray } from './array.js';

/** alpha * sum over `axes`, keeping reduced dims as size 1. */
export function sum(x: NDArray, axes: readonly number[], alpha = 1): NDArray {
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const strides = stridesOf(shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    let o = 0;
    for (let d = 0; d < shape.length; d++) o += (axes.includes(d) ? 0 : idx[d]) * strides[d];
    out[o] += x.data[i];
  }
  return { data: out.map((v) => v * alpha), shape };
}
