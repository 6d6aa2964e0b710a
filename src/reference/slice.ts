import type { NDArray } from './array.js';

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export function cat(arrays: NDArray[], axis: number): NDArray {
  const shape = [...arrays[0].shape];
  shape[axis] = arrays.reduce((s, a) => s + a.shape[axis], 0);
  const rows = product(shape.slice(0, axis));
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (const a of arrays) {
      const row = product(a.shape.slice(axis));
      out.push(...a.data.subarray(r * row, (r + 1) * row));
    }
  }
  return { data: Float64Array.from(out), shape };
}

export function narrow(x: NDArray, axis: number, start: number, length: number): NDArray {
  const shape = [...x.shape];
  shape[axis] = length;
  const inner = product(x.shape.slice(axis + 1));
  const rows = product(x.shape.slice(0, axis));
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const base = r * x.shape[axis] * inner + start * inner;
    out.push(...x.data.subarray(base, base + length * inner));
  }
  return { data: Float64Array.from(out), shape };
}

/** Every steps[d]-th entry of each axis d from 0 (x[::s0, ::s1, ...]). */
export function stridedSlice(x: NDArray, steps: readonly number[]): NDArray {
  const shape = x.shape.map((d, i) => Math.ceil(d / steps[i]));
  const data = new Float64Array(product(shape));
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let source = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      source += (rest % shape[d]) * steps[d] * stride;
      rest = Math.floor(rest / shape[d]);
      stride *= x.shape[d];
    }
    data[i] = x.data[source];
  }
  return { data, shape };
}
