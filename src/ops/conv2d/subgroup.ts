// The 'subgroup' conv variant: conv2d's roles on kernels/conv2d_subgroup.wgsl, its
// override constants where it applies (an adapter whose subgroups it serves,
// src/ops/subgroup_plan.ts, and a stride-1 "same" convolution of at most 3x3) and the
// dispatches of its forward (also grad-input) and grad-weight. The 'subgroup-rows' and
// 'subgroup-padded' variants run the same dispatches on other constants or geometry.
import { grid, kernelContract, runtime, WORKGROUPS_PER_DIMENSION } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import {
  CONV_WEIGHT_VEC4S,
  convSubgroupTiling,
  isFallback,
  noticeOnce,
  type SubgroupLaunch,
} from '../subgroup_plan.js';
import { blocks, CONV_PARAMS, convParams, type ConvGeometry } from './geometry.js';
import {
  convGrid,
  MAX_PARTIAL_FLOATS,
  packWeights,
  planHere,
  weightSize,
  type ConvAdapter,
  type ConvRole,
  type ConvVariantDef,
} from './variant.js';

/** The kernel's private arrays, sized by the host's plans: the forward's output blocks per
 *  invocation (ROWS * CB, at most CB_MAX) and weight vec4s per lane (CB blocks of
 *  ceil(taps / SG), at most WL_MAX, which src/ops/subgroup_plan.ts caps CB by);
 *  grad-weight's output blocks per lane (COB, at most COB_MAX) and sums per lane
 *  (4 * COB * CI_TILE * taps, at most GACC_MAX, which caps CI_TILE below). */
const CB_MAX = 4;
const COB_MAX = 4;
const GACC_MAX = 288;
kernelContract('conv2d_subgroup', {
  structs: [CONV_PARAMS],
  consts: { CB_MAX, WL_MAX: CONV_WEIGHT_VEC4S, COB_MAX, GACC_MAX },
});

/** Override constants for kernels/conv2d_subgroup.wgsl, or null where it does not apply:
 *  it needs an adapter whose subgroups it serves (src/ops/subgroup_plan.ts) and a stride-1
 *  undilated convolution whose output has the input's size, with a kernel of at most 3x3. */
function subgroupConstants(
  g: ConvGeometry,
  channelsOut: number,
  launch: SubgroupLaunch | null,
): Record<string, number> | null {
  const same = g.stride.every((s) => s === 1) && g.dilation.every((d) => d === 1) && g.H_out === g.H && g.W_out === g.W;
  if (!same || g.kH > 3 || g.kW > 3) return null;
  if (!launch) return null;
  const { SG, WG: workgroup } = launch;
  // One invocation per 4 pixels of every plane, planes padded to whole subgroups, along x.
  if (Math.ceil((g.N * Math.ceil(Math.ceil((g.H * g.W) / 4) / SG) * SG) / workgroup) > WORKGROUPS_PER_DIMENSION)
    return null;
  const tiling = convSubgroupTiling(SG, g.kH * g.kW, channelsOut);
  if (isFallback(tiling)) {
    if (tiling.notice) noticeOnce(`${tiling.fallback}; using the portable kernels`);
    return null;
  }
  const ALIGNED = Number((g.H * g.W) % 4 === 0);
  return {
    WG: workgroup,
    SG,
    WIDTH: g.W,
    ALIGNED,
    KH: g.kH,
    KW: g.kW,
    PAD_H: g.padding[0],
    PAD_W: g.padding[1],
    ...tiling,
    ROWS: 1,
  };
}

/** The forward's two-rows-per-invocation form of `constants`, where rows are whole vec4s
 *  and the kernel taller than 1: fewer loads per FMA, twice the sums (so one output block). */
export function withRows(constants: Record<string, number>): Record<string, number> | null {
  return constants.WIDTH % 4 === 0 && constants.KH > 1 ? { ...constants, ROWS: 2, CB: 1 } : null;
}

/** The 4-pixel chunks of a plane that the subgroup kernel's forward gives an invocation each
 *  (as its forward_chunks()): ROWS rows of W / 4 at a time. */
function forwardChunks(g: ConvGeometry, rows: number): number {
  return rows === 1 ? Math.ceil((g.H * g.W) / 4) : Math.ceil(g.H / rows) * (g.W / 4);
}

/** kernels/conv2d_subgroup.wgsl's forward over `input`: y from x, or with `flip` (the weights
 *  packed transposed, taps mirrored) dx from dy. */
function subgroupConv(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  constants: Record<string, number>,
  flip: boolean,
  op: string,
  outWidth = g.W,
): Tensor {
  const [cIn, cOut] = flip ? [g.C_out, g.C_in] : [g.C_in, g.C_out];
  const out = empty([g.N, cOut, g.H, outWidth]);
  const packed = packWeights(weight, g, flip, op);
  const padded = Math.ceil(forwardChunks(g, constants.ROWS) / constants.SG) * constants.SG;
  const supers = Math.ceil(blocks(cOut / g.groups) / constants.CB);
  runtime().launch(op, {
    kernel: 'conv2d_subgroup',
    entry: outWidth < g.W ? 'forward_cropped' : constants.ALIGNED ? 'forward4' : 'forward',
    constants: { ...constants, HAS_BIAS: Number(bias !== null), FLIP: Number(flip), Y_WIDTH: outWidth },
    bind: { input, weight: packed, bias: bias ?? packed, out },
    params: convParams({ ...g, C_in: cIn, C_out: cOut }),
    grid: convGrid(g.N * padded, constants.WG, g.groups * supers),
  });
  packed.dispose();
  return out;
}

/** (image, step) items each subgroup sums in grad_weight, at least: enough to amortise
 *  the subgroup's final reduction of its sums and the partial sums it writes, which the op
 *  then adds up. Measured on lavapipe (3x3, groups of 4-16 channels): 16 -> 64 items cut
 *  grad_weight's time by 10-25%; with subgroups that never idle (the kernel's linear grid),
 *  64 -> 128 by 2-12% more (stage 2 of ResNeXt-50 at batch 8: 10.2 -> 9.0 ms). */
const GRAD_WEIGHT_ITEMS = 128;

/** Partial sums of grad-weight per subgroup, [subgroups, weightSize], at most
 *  MAX_PARTIAL_FLOATS of them (the op adds them up). */
export function subgroupGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry, sg = planned(g, 'grad_weight')): Tensor {
  const op = 'conv2d backward';
  const size = weightSize(g);
  const items = g.N * Math.ceil(Math.ceil((g.H * g.W) / 4) / sg.SG);
  const most = Math.max(GRAD_WEIGHT_ITEMS, Math.ceil(items / Math.floor(MAX_PARTIAL_FLOATS / size)));
  // As even a share as the count allows (200 items: 4 x 50, not 3 x 64 and 8); the kernel
  // makes the same count of chunks from it.
  const perSubgroup = Math.ceil(items / Math.ceil(items / most));
  const subgroups = Math.ceil(items / perSubgroup);
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  // Each lane sums 4 * COB x CI_TILE x taps weights (at most GACC_MAX in the kernel): the
  // more, the fewer loads per FMA, but past some count the sums spill. Measured on lavapipe:
  // 1x1 kernels on planes of whole vec4s run fastest with 64 sums (8 x 8: 20-25% faster
  // than 16 x 16, while 8 x 4 and 4 x 8 are slower again); on other planes, whose loads
  // cost more, with 16 x 16. Kernels with more taps sum one input channel at a time, with
  // 8 output channels where the group has them: a 3x3's 72 sums ran 2.2-3x faster than the
  // 288 of 8 x 4 channels (whose sums spill), and 20% faster than 4 x 1 where cog >= 8.
  const taps = g.kH * g.kW;
  const pointwiseAligned = taps === 1 && sg.ALIGNED === 1;
  const COB = Math.min(taps === 1 && !pointwiseAligned ? 4 : 2, Math.ceil(cog / 4));
  const widest = taps === 1 ? (pointwiseAligned ? 8 : 16) : 1;
  const CI_TILE = Math.min(cig, widest, Math.floor(GACC_MAX / (4 * COB * taps)));
  const tiles = g.groups * Math.ceil(cog / (4 * COB)) * Math.ceil(cig / CI_TILE);
  const partial = empty([subgroups, size]);
  runtime().launch(op, {
    kernel: 'conv2d_subgroup',
    entry: 'grad_weight',
    constants: { ...sg, COB, CI_TILE },
    bind: { input: x, grad: dy, partial },
    params: convParams(g, perSubgroup),
    grid: grid.items(subgroups * tiles * sg.SG, sg.WG),
  });
  return partial;
}

/** The kernel's constants for `role` on `g`, or null where it does not apply (grad-weight
 *  also needs its weights within one partial-sum buffer). */
export function subgroupRole(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole): Record<string, number> | null {
  if (role === 'grad_weight' && weightSize(g) > MAX_PARTIAL_FLOATS) return null;
  return subgroupConstants(g, (role === 'grad_input' ? g.C_in : g.C_out) / g.groups, adapter.subgroups);
}

/** The subgroup kernel's constants for `role` on `g`, where it was found to apply. */
const planned = (g: ConvGeometry, role: ConvRole) => planHere('the subgroup kernel', subgroupRole, g, role);

/** The forward on the subgroup kernel with `constants` (or the ones `g` plans). */
export function subgroupForward(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  op: string,
  constants = planned(g, 'forward'),
  outWidth = g.W,
): Tensor {
  return subgroupConv(x, weight, bias, g, constants, false, op, outWidth);
}

/** The grad-input on the subgroup kernel (its forward over dy with flipped, transposed weights). */
export function subgroupGradInput(
  dy: Tensor,
  weight: Tensor,
  g: ConvGeometry,
  constants = planned(g, 'grad_input'),
  outWidth = g.W,
): Tensor {
  return subgroupConv(dy, weight, null, g, constants, true, 'conv2d backward', outWidth);
}

export const subgroup: ConvVariantDef<'subgroup'> = {
  name: 'subgroup',
  kernels: ['conv2d', 'conv2d_subgroup'],
  // 2: grad_weight's tiles of one input channel for 3x3 kernels, 64 items per subgroup;
  // 3: 128 items, shared out evenly, on a linear grid of (tile, chunk) subgroups.
  planVersion: 3,
  applies: (g, adapter, role) => subgroupRole(g, adapter, role) !== null,
  forward: (x, weight, bias, g, op) => subgroupForward(x, weight, bias, g, op),
  gradInput: (dy, weight, g) => subgroupGradInput(dy, weight, g),
  gradWeight: (x, dy, g) => subgroupGradWeight(x, dy, g),
};
