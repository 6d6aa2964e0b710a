import type { NDArray } from './array.js';

export interface BatchNormSpec {
  training: boolean;
  eps: number;
  relu: boolean;
  momentum: number;
}

/** Per-channel mean and biased variance over N, H, W. */
export function channelStats(x: NDArray): { mean: number[]; variance: number[] } {
  const [N, C, H, W] = x.shape;
  const HW = H * W;
  const mean = new Array<number>(C).fill(0);
  const variance = new Array<number>(C).fill(0);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x.data[(n * C + c) * HW + i];
    mean[c] = s / (N * HW);
    let q = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) q += (x.data[(n * C + c) * HW + i] - mean[c]) ** 2;
    variance[c] = q / (N * HW);
  }
  return { mean, variance };
}

export function batchNorm(
  x: NDArray,
  runningMean: NDArray,
  runningVar: NDArray,
  weight: NDArray,
  bias: NDArray,
  s: BatchNormSpec,
): NDArray {
  const [, C, H, W] = x.shape;
  const stats = s.training ? channelStats(x) : { mean: [...runningMean.data], variance: [...runningVar.data] };
  const y = x.data.map((v, i) => {
    const c = Math.floor(i / (H * W)) % C;
    const out = ((v - stats.mean[c]) / Math.sqrt(stats.variance[c] + s.eps)) * weight.data[c] + bias.data[c];
    return s.relu ? Math.max(out, 0) : out;
  });
  return { data: y, shape: [...x.shape] };
}

/** The running statistics after one training step, as PyTorch updates them. */
export function updatedRunningStats(
  x: NDArray,
  runningMean: NDArray,
  runningVar: NDArray,
  momentum: number,
): { mean: number[]; variance: number[] } {
  const [N, , H, W] = x.shape;
  const count = N * H * W;
  const { mean, variance } = channelStats(x);
  return {
    mean: mean.map((m, c) => (1 - momentum) * runningMean.data[c] + momentum * m),
    variance: variance.map((v, c) => (1 - momentum) * runningVar.data[c] + (momentum * v * count) / (count - 1)),
  };
}

/** The gradients of batchNorm for an upstream gradient g, from the closed form (training:
 *  the batch statistics depend on x too), gated by the fused ReLU where it clipped. */
export function batchNormBackward(
  x: NDArray,
  g: NDArray,
  runningMean: NDArray,
  runningVar: NDArray,
  weight: NDArray,
  bias: NDArray,
  s: BatchNormSpec,
): { x: NDArray; weight: NDArray; bias: NDArray } {
  const [N, C, H, W] = x.shape;
  const HW = H * W;
  const count = N * HW;
  const stats = s.training ? channelStats(x) : { mean: [...runningMean.data], variance: [...runningVar.data] };
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(stats.variance[c] + s.eps);
    const at = (n: number, i: number) => (n * C + c) * HW + i;
    const xhat = (j: number) => (x.data[j] - stats.mean[c]) * inv;
    const gated = (j: number) => (s.relu && xhat(j) * weight.data[c] + bias.data[c] <= 0 ? 0 : g.data[j]);
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        db[c] += gated(at(n, i));
        dw[c] += gated(at(n, i)) * xhat(at(n, i));
      }
    }
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const j = at(n, i);
        const centred = s.training ? gated(j) - (db[c] + xhat(j) * dw[c]) / count : gated(j);
        dx[j] = weight.data[c] * inv * centred;
      }
    }
  }
  return { x: { data: dx, shape: [...x.shape] }, weight: { data: dw, shape: [C] }, bias: { data: db, shape: [C] } };
}
