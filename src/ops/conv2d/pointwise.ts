// 1x1 convolutions as batches of matrix products (kernels/matmul_subgroup.wgsl): per
// image n, y[n] = W x[n] and dx[n] = W^T dy[n], with planes as the columns; and
// dW = sum over n of dy[n] x[n]^T, in chunks of images whose partial sums conv2d adds.
// The kernel reads whole vec4s: planes that are not (7x7) are copied into planes padded
// with zeros, and results copied back out. The 'matmul' conv variant.
import { empty, type Tensor } from '../../tensor.js';
import { cropLast, padLast } from '../fill.js';
import { subgroupMatmul, subgroupMatmulTiles } from '../matmul.js';
import type { ConvGeometry } from './geometry.js';
import { MAX_PARTIAL_FLOATS, packWeights, type ConvAdapter, type ConvVariantDef } from './variant.js';

/** Subgroups the grad-weight chunks should give the device at least. */
const GRAD_WEIGHT_SUBGROUPS = 128;

/** A 1x1, stride-1, unpadded, ungrouped convolution whose channels are whole vec4s, on an
 *  adapter that runs the subgroup matmul. */
function pointwiseApplies(g: ConvGeometry, adapter: ConvAdapter): boolean {
  const unit = (p: readonly number[], v: number) => p.every((d) => d === v);
  return (
    g.kH * g.kW === 1 &&
    unit(g.stride, 1) &&
    unit(g.padding, 0) &&
    unit(g.dilation, 1) &&
    g.groups === 1 &&
    g.C_in % 4 === 0 &&
    g.C_out % 4 === 0 &&
    adapter.subgroups !== null
  );
}

const op = 'conv2d';

/** Plane size as the kernel reads it: H * W rounded up to whole vec4s. */
const paddedPlane = (g: ConvGeometry) => Math.ceil((g.H * g.W) / 4) * 4;

/** t [N, C, H, W] with each plane padded with zeros to `plane` elements (t itself if it needs none). */
function padded(t: Tensor, plane: number, label = op): Tensor {
  const [N, C, H, W] = t.shape;
  if (H * W === plane) return t;
  const flat = t.view([N, C, H * W]);
  const out = padLast(label, flat, plane);
  flat.dispose();
  return out;
}

/** Disposes `t` if it is a padded copy, not the caller's tensor. */
const release = (t: Tensor, original: Tensor) => t !== original && t.dispose();

/** y[n] = W x[n]: W [C_out, C_in] as stored. */
function pointwiseForward(x: Tensor, weight: Tensor, g: ConvGeometry): Tensor {
  const HW = paddedPlane(g);
  const xp = padded(x, HW);
  const y = empty([g.N, g.C_out, HW]);
  subgroupMatmul(op, weight, xp, y, {
    M: g.C_out,
    N: HW,
    K: g.C_in,
    aRow: g.C_in / 4,
    aK: 1,
    bK: HW / 4,
    bBatch: (g.C_in * HW) / 4,
    outputs: g.N,
  });
  release(xp, x);
  return cropLast(op, y, g.H * g.W, [g.N, g.C_out, g.H, g.W]);
}

/** dx[n] = W^T dy[n], reading W^T from conv2d's packed weights: vec4 (ci, co block b) at b * C_in + ci. */
function pointwiseGradInput(dy: Tensor, packed: Tensor, g: ConvGeometry): Tensor {
  const HW = paddedPlane(g);
  const dyp = padded(dy, HW, `${op} backward`);
  const dx = empty([g.N, g.C_in, HW]);
  subgroupMatmul(`${op} backward`, packed, dyp, dx, {
    M: g.C_in,
    N: HW,
    K: g.C_out,
    aRow: 1,
    aK: g.C_in,
    bK: HW / 4,
    bBatch: (g.C_out * HW) / 4,
    outputs: g.N,
  });
  release(dyp, dy);
  return cropLast(`${op} backward`, dx, g.H * g.W, [g.N, g.C_in, g.H, g.W]);
}

/** Partial sums of dW = dy[n] x[n]^T over chunks of images, [chunks, C_out * C_in]. */
function pointwiseGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const HW = paddedPlane(g);
  const [xp, dyp] = [padded(x, HW, `${op} backward`), padded(dy, HW, `${op} backward`)];
  const weightSize = g.C_out * g.C_in;
  const tiles = subgroupMatmulTiles(g.C_out, g.C_in);
  const wanted = Math.min(
    g.N,
    Math.ceil(GRAD_WEIGHT_SUBGROUPS / tiles),
    Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / weightSize)),
  );
  const perOutput = Math.ceil(g.N / wanted);
  const outputs = Math.ceil(g.N / perOutput);
  const partial = empty([outputs, weightSize]);
  subgroupMatmul(`${op} backward`, dyp, xp, partial, {
    M: g.C_out,
    N: g.C_in,
    K: HW,
    aRow: HW / 4,
    aK: 1,
    bK: HW / 4,
    transB: true,
    aBatch: (g.C_out * HW) / 4,
    bBatch: (g.C_in * HW) / 4,
    perOutput,
    outputs,
    batches: g.N,
  });
  release(xp, x);
  release(dyp, dy);
  return partial;
}

export const pointwise: ConvVariantDef<'matmul'> = {
  name: 'matmul',
  kernels: ['conv2d', 'matmul_subgroup'],
  // The forward adds no bias.
  applies: (g, adapter, role, hasBias) => !(role === 'forward' && hasBias) && pointwiseApplies(g, adapter),
  forward: (x, weight, _bias, g) => pointwiseForward(x, weight, g),
  gradInput: (dy, weight, g) => {
    const packed = packWeights(weight, g, false, `${op} backward`);
    const dx = pointwiseGradInput(dy, packed, g);
    packed.dispose();
    return dx;
  },
  gradWeight: pointwiseGradWeight,
};
