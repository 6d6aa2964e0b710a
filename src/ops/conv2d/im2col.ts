// The 'im2col' conv variant, grad-weight only: the input unrolled by tap and dy's planes
// regrouped (kernels/conv2d_im2col.wgsl), both group-major, then one matrix product per
// group on kernels/matmul_subgroup.wgsl that runs over the group's images in turn:
//
//   dW[g * cog + co, (ci, kh, kw)] = sum over images n and output pixels q of dyg[g, n, co, q] col[g, n, (ci, kh, kw), q].
//
// It trades memory for speed: the unrolled input is taps times the input (capped by
// COL_MAX_FLOATS), where the direct kernels reload the input for every block of output
// channels. It applies where the subgroup matmul runs and a group's weights per output
// channel are whole vec4s (cig * kH * kW % 4 == 0).
import { grid, kernelContract, runtime } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { subgroupMatmul } from '../matmul.js';
import { CONV_PARAMS, convParams, type ConvGeometry } from './geometry.js';
import { weightSize, type ConvAdapter, type ConvVariantDef } from './variant.js';

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
  return adapter.subgroups !== null && rowLength % 4 === 0 && colFloats(g) <= COL_MAX_FLOATS;
}

/** `entry` of kernels/conv2d_im2col.wgsl writing `out` from `input`, one vec4 an invocation. */
function launchIm2col(entry: 'main' | 'regroup', input: Tensor, out: Tensor, g: ConvGeometry, op: string): void {
  runtime().launch(op, {
    kernel: 'conv2d_im2col',
    entry,
    constants: {
      WG,
      KH: g.kH,
      KW: g.kW,
      PLANE: paddedPlane(g),
      W_OUT: g.W_out,
      CIG: g.C_in / g.groups,
      COG: g.C_out / g.groups,
      BATCH: g.N,
    },
    bind: { input, out },
    params: convParams(g),
    grid: grid.items(out.size / 4, WG),
  });
}

/** dW as partial sums [1, weightSize]: per group, dy's rows times the unrolled input's
 *  transposed, summed over the images in one product. */
function im2colGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const plane = paddedPlane(g);
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  const rowLength = cig * g.kH * g.kW;
  const col = empty([g.groups, g.N, rowLength, plane]);
  launchIm2col('main', x, col, g, op);
  const dyg = empty([g.groups, g.N, cog, plane]);
  launchIm2col('regroup', dy, dyg, g, op);
  const partial = empty([1, weightSize(g)]);
  // Product b = g * N + n: image n's block of group g in both; output g sums its N.
  subgroupMatmul(op, dyg, col, partial, {
    M: cog,
    N: rowLength,
    K: plane,
    aRow: plane / 4,
    aK: 1,
    bK: plane / 4,
    transB: true,
    aBatch: (cog * plane) / 4,
    bBatch: (rowLength * plane) / 4,
    perOutput: g.N,
    outputs: g.groups,
    batches: g.groups * g.N,
  });
  dyg.dispose();
  col.dispose();
  return partial;
}

export const im2col: ConvVariantDef<'im2col'> = {
  name: 'im2col',
  kernels: ['conv2d_im2col', 'matmul_subgroup'],
  applies: (g, adapter, role) => role === 'grad_weight' && im2colApplies(g, adapter),
  gradWeight: im2colGradWeight,
};
