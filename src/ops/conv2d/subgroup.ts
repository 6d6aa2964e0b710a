// The 'subgroup' conv variant: conv2d's roles on kernels/conv2d_subgroup.wgsl, its
// override constants where it applies (an adapter whose subgroups it serves,
// src/ops/subgroup_plan.ts, and a stride-1 "same" convolution of at most 3x3) and the
// dispatches of its forward (also grad-input) and grad-weight. The 'subgroup-rows' and
// 'subgroup-padded' variants run the same dispatches on other constants or geometry.
import { ResnextError } from '../../errors.js';
import { runtime, WORKGROUPS_PER_DIMENSION } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { convSubgroupTiling, isFallback, noticeOnce, type SubgroupLaunch } from '../subgroup_plan.js';
import { blocks, convParams, type ConvGeometry } from './geometry.js';
import {
  adapterHere,
  MAX_PARTIAL_FLOATS,
  packWeights,
  weightSize,
  type ConvAdapter,
  type ConvRole,
  type ConvVariantDef,
} from './variant.js';

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

/** Runs kernels/conv2d_subgroup.wgsl's forward over `input` (x, or dy for grad-input) into `out`. */
function subgroupConv(
  input: Tensor,
  packed: Tensor,
  bias: Tensor | null,
  out: Tensor,
  g: ConvGeometry,
  constants: Record<string, number>,
  flip: boolean,
  op: string,
): void {
  const [cIn, cOut] = flip ? [g.C_out, g.C_in] : [g.C_in, g.C_out];
  const padded = Math.ceil(forwardChunks(g, constants.ROWS) / constants.SG) * constants.SG;
  const supers = Math.ceil(blocks(cOut / g.groups) / constants.CB);
  runtime().dispatch({
    kernel: 'conv2d_subgroup',
    entry: constants.ALIGNED ? 'forward4' : 'forward',
    constants: { ...constants, HAS_BIAS: Number(bias !== null), FLIP: Number(flip) },
    buffers: [
      input.buffer(op, 'input'),
      packed.buffer(op, 'weight'),
      (bias ?? packed).buffer(op, 'bias'),
      out.buffer(op, 'out'),
    ],
    params: convParams({ ...g, C_in: cIn, C_out: cOut }),
    workgroups: [Math.ceil((g.N * padded) / constants.WG), g.groups * supers],
  });
}

/** (image, step) items each subgroup sums in grad_weight, at least: enough to amortise
 *  the subgroup's final reduction of its sums. */
const GRAD_WEIGHT_ITEMS = 16;
/** Must match GACC_MAX in kernels/conv2d_subgroup.wgsl. */
const GACC_MAX = 288;

/** Partial sums of grad-weight per subgroup, [subgroups, weightSize], at most
 *  MAX_PARTIAL_FLOATS of them (the op adds them up). */
export function subgroupGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry, sg = planned(g, 'grad_weight')): Tensor {
  const op = 'conv2d backward';
  const size = weightSize(g);
  const items = g.N * Math.ceil(Math.ceil((g.H * g.W) / 4) / sg.SG);
  const perSubgroup = Math.max(GRAD_WEIGHT_ITEMS, Math.ceil(items / Math.floor(MAX_PARTIAL_FLOATS / size)));
  const subgroups = Math.ceil(items / perSubgroup);
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  // Each lane sums 4 * COB x CI_TILE x taps weights (at most GACC_MAX in the kernel): the
  // more, the fewer loads per FMA, but past some count the sums spill. Measured on lavapipe:
  // 1x1 kernels on planes of whole vec4s run fastest with 64 sums (8 x 8: 20-25% faster
  // than 16 x 16, while 8 x 4 and 4 x 8 are slower again); on other planes, whose loads
  // cost more, with 16 x 16; 3x3 kernels with 8 output channels.
  const taps = g.kH * g.kW;
  const pointwiseAligned = taps === 1 && sg.ALIGNED === 1;
  const COB = Math.min(taps === 1 && !pointwiseAligned ? 4 : 2, Math.ceil(cog / 4));
  const CI_TILE = Math.min(cig, pointwiseAligned ? 8 : 16, Math.floor(GACC_MAX / (4 * COB * taps)));
  const tiles = g.groups * Math.ceil(cog / (4 * COB)) * Math.ceil(cig / CI_TILE);
  const partial = empty([subgroups, size]);
  runtime().dispatch({
    kernel: 'conv2d_subgroup',
    entry: 'grad_weight',
    constants: { ...sg, COB, CI_TILE },
    buffers: [x.buffer(op, 'input'), dy.buffer(op, 'grad'), partial.buffer(op, 'partial')],
    params: convParams(g, perSubgroup),
    workgroups: [Math.ceil((subgroups * sg.SG) / sg.WG), tiles],
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
function planned(g: ConvGeometry, role: ConvRole): Record<string, number> {
  const constants = subgroupRole(g, adapterHere(), role);
  if (!constants) throw new ResnextError(`internal: conv2d: the subgroup kernel does not apply to this ${role}`);
  return constants;
}

/** The forward on the subgroup kernel with `constants` (or the ones `g` plans). */
export function subgroupForward(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  op: string,
  constants = planned(g, 'forward'),
): Tensor {
  const y = empty([g.N, g.C_out, g.H_out, g.W_out]);
  const packed = packWeights(weight, g, false, op);
  subgroupConv(x, packed, bias, y, g, constants, false, op);
  packed.dispose();
  return y;
}

/** The grad-input on the subgroup kernel (its forward over dy with flipped, transposed weights). */
export function subgroupGradInput(
  dy: Tensor,
  weight: Tensor,
  g: ConvGeometry,
  constants = planned(g, 'grad_input'),
): Tensor {
  const op = 'conv2d backward';
  const dx = empty([g.N, g.C_in, g.H, g.W]);
  const packed = packWeights(weight, g, true, op);
  subgroupConv(dy, packed, null, dx, g, constants, true, op);
  packed.dispose();
  return dx;
}

export const subgroup: ConvVariantDef<'subgroup'> = {
  name: 'subgroup',
  kernels: ['conv2d', 'conv2d_subgroup'],
  applies: (g, adapter, role) => subgroupRole(g, adapter, role) !== null,
  forward: (x, weight, bias, g, op) => subgroupForward(x, weight, bias, g, op),
  gradInput: (dy, weight, g) => subgroupGradInput(dy, weight, g),
  gradWeight: (x, dy, g) => subgroupGradWeight(x, dy, g),
};
