// 1x1 convolutions as batches of matrix products (kernels/matmul_subgroup.wgsl): per
// image n, y[n] = W x[n] and dx[n] = W^T dy[n], with planes as the columns; and
// dW = sum over n of dy[n] x[n]^T, in chunks of images whose partial sums conv2d adds.
// One of the kernels conv2d's tuner times (the 'matmul' variant).
import type { Tensor } from '../tensor.js';
import { empty } from '../tensor.js';
import { subgroupMatmul, subgroupMatmulRuns, subgroupMatmulTiles } from './matmul.js';
import type { ConvGeometry } from './conv2d.js';

/** Subgroups the grad-weight chunks should give the device at least. */
const GRAD_WEIGHT_SUBGROUPS = 128;

/** A 1x1, stride-1, unpadded, ungrouped convolution whose planes and channels are whole
 *  vec4s, on an adapter that runs the subgroup matmul. */
export function pointwiseApplies(g: ConvGeometry): boolean {
  const unit = (p: readonly number[], v: number) => p.every((d) => d === v);
  return (
    g.kH * g.kW === 1 && unit(g.stride, 1) && unit(g.padding, 0) && unit(g.dilation, 1) && g.groups === 1 &&
    (g.H * g.W) % 4 === 0 && g.C_in % 4 === 0 && g.C_out % 4 === 0 && subgroupMatmulRuns()
  );
}

const op = 'conv2d';

/** y[n] = W x[n]: W [C_out, C_in] as stored. */
export function pointwiseForward(x: Tensor, weight: Tensor, g: ConvGeometry): Tensor {
  const HW = g.H * g.W;
  const y = empty([g.N, g.C_out, g.H, g.W]);
  subgroupMatmul(op, weight, x, y, { M: g.C_out, N: HW, K: g.C_in, aRow: g.C_in / 4, aK: 1, bK: HW / 4, bBatch: (g.C_in * HW) / 4, outputs: g.N });
  return y;
}

/** dx[n] = W^T dy[n], reading W^T from conv2d's packed weights: vec4 (ci, co block b) at b * C_in + ci. */
export function pointwiseGradInput(dy: Tensor, packed: Tensor, g: ConvGeometry): Tensor {
  const HW = g.H * g.W;
  const dx = empty([g.N, g.C_in, g.H, g.W]);
  subgroupMatmul(`${op} backward`, packed, dy, dx, { M: g.C_in, N: HW, K: g.C_out, aRow: 1, aK: g.C_in, bK: HW / 4, bBatch: (g.C_out * HW) / 4, outputs: g.N });
  return dx;
}

/** Partial sums of dW = dy[n] x[n]^T over chunks of images, [chunks, C_out * C_in]. */
export function pointwiseGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry, maxPartialFloats: number): Tensor {
  const HW = g.H * g.W;
  const weightSize = g.C_out * g.C_in;
  const tiles = subgroupMatmulTiles(g.C_out, g.C_in);
  const wanted = Math.min(g.N, Math.ceil(GRAD_WEIGHT_SUBGROUPS / tiles), Math.max(1, Math.floor(maxPartialFloats / weightSize)));
  const perOutput = Math.ceil(g.N / wanted);
  const outputs = Math.ceil(g.N / perOutput);
  const partial = empty([outputs, weightSize]);
  subgroupMatmul(`${op} backward`, dy, x, partial, {
    M: g.C_out, N: g.C_in, K: HW, aRow: HW / 4, aK: 1, bK: HW / 4, transB: true,
    aBatch: (g.C_out * HW) / 4, bBatch: (g.C_in * HW) / 4, perOutput, outputs, batches: g.N,
  });
  return partial;
}
