// The 'im2col' conv variant, grad-weight only: the input unrolled by tap
// (kernels/conv2d_im2col.wgsl), then per image n and group g one matrix product on
// kernels/matmul_subgroup.wgsl,
//
//   partial[n, g * cog + co, (ci, kh, kw)] = sum over output pixels q of dy[n, g * cog + co, q] col[n, g, (ci, kh, kw), q],
//
// whose sum over n (the op's) is dW. It trades memory for speed: the unrolled input is
// taps times the input (capped by COL_MAX_FLOATS), where the direct kernels reload the
// input for every block of output channels. It applies where the subgroup matmul runs and
// a group's weights per output channel are whole vec4s (cig * kH * kW % 4 == 0).
import { grid, kernelContract, runtime } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { padLast } from '../fill.js';
import { subgroupMatmul } from '../matmul.js';
import { CONV_PARAMS, convParams, type ConvGeometry } from './geometry.js';
import { MAX_PARTIAL_FLOATS, weightSize, type ConvAdapter, type ConvVariantDef } from './variant.js';

kernelContract('conv2d_im2col', { structs: [CONV_PARAMS] });

/** Invocations per workgroup of the unrolling kernel (one vec4 of col each). */
const WG = 256;
/** The most floats the unrolled input may take: 64 MiB. Larger layers (the small
 *  ResNeXt's first stage at batch 64: 115 MB) keep the direct kernels. */
const COL_MAX_FLOATS = 16 << 20;

/** Output pixels per plane as the products read them: whole vec4s. */
const paddedPlane = (g: ConvGeometry) => Math.ceil((g.H_out * g.W_out) / 4) * 4;

/** Floats of the unrolled input: every (image, channel, tap) row of a padded output plane. */
const colFloats = (g: ConvGeometry) => g.N * g.C_in * g.kH * g.kW * paddedPlane(g);

function im2colApplies(g: ConvGeometry, adapter: ConvAdapter): boolean {
  const rowLength = (g.C_in / g.groups) * g.kH * g.kW;
  return (
    adapter.subgroups !== null &&
    rowLength % 4 === 0 &&
    colFloats(g) <= COL_MAX_FLOATS &&
    g.N * weightSize(g) <= MAX_PARTIAL_FLOATS
  );
}

/** col [N, C_in * kH * kW, plane] from x (see the kernel). */
function unroll(x: Tensor, g: ConvGeometry, op: string): Tensor {
  const plane = paddedPlane(g);
  const col = empty([g.N, g.C_in * g.kH * g.kW, plane]);
  runtime().launch(op, {
    kernel: 'conv2d_im2col',
    constants: { WG, KH: g.kH, KW: g.kW, PLANE: plane },
    bind: { input: x, col },
    params: convParams(g),
    grid: grid.items(colFloats(g) / 4, WG),
  });
  return col;
}

/** Partial sums of dW, one per image: [N, weightSize]. */
function im2colGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const plane = paddedPlane(g);
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  const rowLength = cig * g.kH * g.kW;
  const col = unroll(x, g, op);
  const flat = dy.view([g.N, g.C_out, g.H_out * g.W_out]);
  const dyp = padLast(op, flat, plane);
  const partial = empty([g.N, weightSize(g)]);
  // Product b = n * groups + g: its dy rows and col rows start b * cog and b * rowLength
  // rows in, and its output, block b of partial, is image n's sums for group g.
  const products = g.N * g.groups;
  subgroupMatmul(op, dyp, col, partial, {
    M: cog,
    N: rowLength,
    K: plane,
    aRow: plane / 4,
    aK: 1,
    bK: plane / 4,
    transB: true,
    aBatch: (cog * plane) / 4,
    bBatch: (rowLength * plane) / 4,
    outputs: products,
    batches: products,
  });
  if (dyp !== flat) dyp.dispose();
  flat.dispose();
  col.dispose();
  return partial;
}

export const im2col: ConvVariantDef<'im2col'> = {
  name: 'im2col',
  kernels: ['conv2d_im2col', 'matmul_subgroup', 'fill'],
  applies: (g, adapter, role) => role === 'grad_weight' && im2colApplies(g, adapter),
  gradWeight: im2colGradWeight,
};
