// Float64 arrays with a shape: the currency of the CPU reference. Plain TypeScript,
// no GPU imports, so it can check the GPU path without sharing its bugs.

export interface NDArray {
  data: Float64Array;
  shape: number[];
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function nd(data: ArrayLike<number>, shape: readonly number[]): NDArray {
  if (data.length !== size(shape)) throw new Error(`reference: ${data.length} values for shape [${shape.join(',')}]`);
  return { data: Float64Array.from(data), shape: [...shape] };
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** Multi-index of flat index i in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
