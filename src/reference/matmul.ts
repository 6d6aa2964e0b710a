import type { NDArray } from './array.js';

/** op(a) @ op(b) with op = transpose when flagged; a and b are 2-D. */
export function matmul(a: NDArray, b: NDArray, transA = false, transB = false): NDArray {
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const N = transB ? b.shape[0] : b.shape[1];
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const av = transA ? a.data[k * M + i] : a.data[i * K + k];
        const bv = transB ? b.data[j * K + k] : b.data[k * N + j];
        acc += av * bv;
      }
      out[i * N + j] = acc;
    }
  }
  return { data: out, shape: [M, N] };
}
