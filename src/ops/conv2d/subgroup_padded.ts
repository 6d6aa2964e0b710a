// The 'subgroup-padded' conv variant: the subgroup kernel on rows padded with zeros to
// whole vec4s, where that is a geometry it takes with the same result: the zeros past each
// row are the right padding it would otherwise mask (planes of 7x7 become 7x8: aligned
// loads, no per-pixel masks). Inputs are padded, except where the forward and grad-input
// read rows 2 short of whole vec4s as if padded (below); they store rows of the unpadded
// width (the kernel's forward_cropped). grad-weight reads padded x and dy.
import type { Tensor } from '../../tensor.js';
import { padLast } from '../fill.js';
import type { ConvGeometry } from './geometry.js';
import {
  subgroup,
  subgroupForward,
  subgroupGradInput,
  subgroupGradWeight,
  subgroupRole,
  withRows,
} from './subgroup.js';
import { planHere, type ConvAdapter, type ConvRole, type ConvVariantDef } from './variant.js';

/** `g` on rows padded to whole vec4s, where the zeros past each row stand in for its right
 *  padding; null where rows are whole vec4s already or the padding is narrower. */
function paddedGeometry(g: ConvGeometry): ConvGeometry | null {
  const W = Math.ceil(g.W / 4) * 4;
  if (W === g.W || W - g.W < g.padding[1]) return null;
  return { ...g, W, W_out: W };
}

/** `constants` reading the unpadded input's rows in place as if padded (the kernel's
 *  X_WIDTH, kernels/include/conv2d_window.wgsl's padded_row_vec4), or null where the input
 *  must be copied: that read needs rows 2 short of whole vec4s in planes of whole vec4s
 *  (14x14 planes as 14x16: each row starts on a vec4 or half-way into one), and subgroups
 *  spanning whole padded rows, so no lane reads past its row's neighbours. Against the copy
 *  on lavapipe (fastest of 30 in three alternating pairs, two runs): ResNeXt-50's stage 3
 *  forward and grad-input 0.97-1.38x (most 1.01-1.11), the small ResNeXt's 14x14 layer
 *  1.10-1.30x. Rows of 7 read in place (any offset in a vec4, a second load at row ends)
 *  ran 0.52-0.86x: their copy is cheaper, so they are copied (docs/kernels.md). */
function inPlace(width: number, padded: ConvGeometry, constants: Record<string, number>) {
  const rows = width % 4 === 2 && (padded.H * width) % 4 === 0 && (4 * constants.SG) % padded.W === 0;
  return rows ? { ...constants, X_WIDTH: width } : null;
}

/** run(input as the kernel reads it, its constants, the width of the output's rows): a role
 *  (forward or grad-input) that reads padded rows, from a padded copy or in place, and
 *  stores rows of the input's width. */
function onRows(
  op: string,
  input: Tensor,
  plan: { padded: ConvGeometry; constants: Record<string, number> },
  run: (input: Tensor, constants: Record<string, number>, outWidth: number) => Tensor,
): Tensor {
  const { padded, constants } = plan;
  const width = input.shape[3];
  const direct = inPlace(width, padded, constants);
  if (direct) return run(input, direct, width);
  const inputPadded = padLast(op, input, padded.W);
  const out = run(inputPadded, constants, width);
  inputPadded.dispose();
  return out;
}

/** A role's plan on padded rows: the padded geometry and the subgroup kernel's constants
 *  there (g itself must be one the kernel takes), with `rows` output rows per invocation
 *  (2: 'subgroup-rows' on padded rows, which has no grad-weight). */
function paddedPlan(rows: 1 | 2) {
  return (g: ConvGeometry, adapter: ConvAdapter, role: ConvRole) => {
    const padded = rows === 2 && role === 'grad_weight' ? null : paddedGeometry(g);
    if (!padded || !subgroup.applies(g, adapter, role, false)) return null;
    const constants = subgroupRole(padded, adapter, role);
    const planned = constants && (rows === 2 ? withRows(constants) : constants);
    return planned ? { padded, constants: planned } : null;
  };
}

const WHAT = 'the subgroup kernel on padded rows';
const onePerRow = paddedPlan(1);

function gradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const { padded } = planHere(WHAT, onePerRow, g, 'grad_weight');
  const [xp, dyp] = [padLast('conv2d backward', x, padded.W), padLast('conv2d backward', dy, padded.W)];
  const partial = subgroupGradWeight(xp, dyp, padded);
  xp.dispose();
  dyp.dispose();
  return partial;
}

/** The forward and grad-input of the variant whose plans `plan` makes. */
function paddedRoles(what: string, plan: ReturnType<typeof paddedPlan>) {
  const planned = (g: ConvGeometry, role: ConvRole) => planHere(what, plan, g, role);
  return {
    applies: (g: ConvGeometry, adapter: ConvAdapter, role: ConvRole) => plan(g, adapter, role) !== null,
    forward: (x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op: string) => {
      const role = planned(g, 'forward');
      return onRows(op, x, role, (xp, c, W) => subgroupForward(xp, weight, bias, role.padded, op, c, W));
    },
    gradInput: (dy: Tensor, weight: Tensor, g: ConvGeometry) => {
      const role = planned(g, 'grad_input');
      const op = 'conv2d backward';
      return onRows(op, dy, role, (dyp, c, W) => subgroupGradInput(dyp, weight, role.padded, c, W));
    },
  };
}

export const subgroupPadded: ConvVariantDef<'subgroup-padded'> = {
  name: 'subgroup-padded',
  kernels: ['conv2d', 'conv2d_subgroup'],
  // 2: the subgroup grad_weight's new tiles (subgroup.ts); 3: its items and linear grid.
  planVersion: 3,
  ...paddedRoles(WHAT, onePerRow),
  gradWeight,
};

/** 'subgroup-padded' with two output rows per invocation ('subgroup-rows' on padded rows):
 *  measured on lavapipe (min of 8), 7.5% faster on ResNeXt-50's 7x7 stage 4 and 5-7% on
 *  the small ResNeXt's 7x7 layers, 5% slower on 14x14 planes; the tuner picks per shape. */
export const subgroupPaddedRows: ConvVariantDef<'subgroup-padded-rows'> = {
  name: 'subgroup-padded-rows',
  kernels: ['conv2d', 'conv2d_subgroup'],
  ...paddedRoles("the subgroup kernel's two-row form on padded rows", paddedPlan(2)),
};
