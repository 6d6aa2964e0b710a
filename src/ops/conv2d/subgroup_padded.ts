// The 'subgroup-padded' conv variant: the subgroup kernel on rows padded with zeros to
// whole vec4s, where that is a geometry it takes with the same result: the zeros past each
// row are the right padding it would otherwise mask (planes of 7x7 become 7x8: aligned
// loads, no per-pixel masks). Inputs are padded; the forward and grad-input store rows of
// the unpadded width (the kernel's forward_cropped), grad-weight reads padded x and dy.
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

/** `g` on rows padded to whole vec4s, or null where the subgroup kernel would not take it. */
function paddedRows(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole): ConvGeometry | null {
  const W = Math.ceil(g.W / 4) * 4;
  if (W === g.W || W - g.W < g.padding[1]) return null;
  const padded = { ...g, W, W_out: W };
  return subgroup.applies(g, adapter, role, false) && subgroup.applies(padded, adapter, role, false) ? padded : null;
}

const planned = (g: ConvGeometry, role: ConvRole) =>
  planHere('the subgroup kernel on padded rows', paddedRows, g, role);

/** run(input with rows padded to `padded.W`, the width of the output's rows): a role
 *  (forward or grad-input) that reads padded rows and stores rows of the input's width. */
function onRows(
  op: string,
  input: Tensor,
  padded: ConvGeometry,
  run: (input: Tensor, outWidth: number) => Tensor,
): Tensor {
  const inputPadded = padLast(op, input, padded.W);
  const out = run(inputPadded, input.shape[3]);
  inputPadded.dispose();
  return out;
}

function gradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const padded = planned(g, 'grad_weight');
  const [xp, dyp] = [padLast('conv2d backward', x, padded.W), padLast('conv2d backward', dy, padded.W)];
  const partial = subgroupGradWeight(xp, dyp, padded);
  xp.dispose();
  dyp.dispose();
  return partial;
}

export const subgroupPadded: ConvVariantDef<'subgroup-padded'> = {
  name: 'subgroup-padded',
  kernels: ['conv2d', 'conv2d_subgroup'],
  // 2: the subgroup grad_weight's new tiles (subgroup.ts); 3: its items and linear grid.
  planVersion: 3,
  applies: (g, adapter, role) => paddedRows(g, adapter, role) !== null,
  forward: (x, weight, bias, g, op) => {
    const padded = planned(g, 'forward');
    return onRows(op, x, padded, (xp, W) => subgroupForward(xp, weight, bias, padded, op, undefined, W));
  },
  gradInput: (dy, weight, g) => {
    const padded = planned(g, 'grad_input');
    return onRows('conv2d backward', dy, padded, (dyp, W) => subgroupGradInput(dyp, weight, padded, undefined, W));
  },
  gradWeight,
};

/** The two-row form's plan for `role` on `g`: the padded geometry and its constants. */
function paddedTwoRows(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole) {
  const padded = role === 'grad_weight' ? null : paddedRows(g, adapter, role);
  const constants = padded && subgroupRole(padded, adapter, role);
  const twoRows = constants && withRows(constants);
  return padded && twoRows ? { padded, constants: twoRows } : null;
}

const plannedTwoRows = (g: ConvGeometry, role: ConvRole) =>
  planHere("the subgroup kernel's two-row form on padded rows", paddedTwoRows, g, role);

/** 'subgroup-padded' with two output rows per invocation ('subgroup-rows' on padded rows):
 *  measured on lavapipe (min of 8), 7.5% faster on ResNeXt-50's 7x7 stage 4 and 5-7% on
 *  the small ResNeXt's 7x7 layers, 5% slower on 14x14 planes; the tuner picks per shape. */
export const subgroupPaddedRows: ConvVariantDef<'subgroup-padded-rows'> = {
  name: 'subgroup-padded-rows',
  kernels: ['conv2d', 'conv2d_subgroup'],
  applies: (g, adapter, role) => paddedTwoRows(g, adapter, role) !== null,
  forward: (x, weight, bias, g, op) => {
    const { padded, constants } = plannedTwoRows(g, 'forward');
    return onRows(op, x, padded, (xp, W) => subgroupForward(xp, weight, bias, padded, op, constants, W));
  },
  gradInput: (dy, weight, g) => {
    const { padded, constants } = plannedTwoRows(g, 'grad_input');
    return onRows('conv2d backward', dy, padded, (dyp, W) => subgroupGradInput(dyp, weight, padded, constants, W));
  },
};
