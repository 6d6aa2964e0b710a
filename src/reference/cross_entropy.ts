import type { NDArray } from './array.js';

/** Mean over rows of logsumexp(row) - row[target]. */
export function crossEntropy(logits: NDArray, targets: ArrayLike<number>): NDArray {
  const [rows, classes] = logits.shape;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits.data.subarray(r * classes, (r + 1) * classes);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    total += lse - row[targets[r]];
  }
  return { data: Float64Array.of(total / rows), shape: [] };
}
