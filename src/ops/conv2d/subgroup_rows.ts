// The 'subgroup-rows' conv variant: the subgroup kernel's forward (also grad-input) with
// two output rows per invocation (subgroup.ts's withRows), where rows are whole vec4s.
import type { ConvGeometry } from './geometry.js';
import { subgroupForward, subgroupGradInput, subgroupRole, withRows } from './subgroup.js';
import { planHere, type ConvAdapter, type ConvRole, type ConvVariantDef } from './variant.js';

/** The two-row constants for `role` on `g`, or null where they do not apply. */
function rows(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole): Record<string, number> | null {
  if (role === 'grad_weight') return null;
  const constants = subgroupRole(g, adapter, role);
  return constants && withRows(constants);
}

const planned = (g: ConvGeometry, role: ConvRole) => planHere("the subgroup kernel's two-row form", rows, g, role);

export const subgroupRows: ConvVariantDef<'subgroup-rows'> = {
  name: 'subgroup-rows',
  kernels: ['conv2d', 'conv2d_subgroup'],
  applies: (g, adapter, role) => rows(g, adapter, role) !== null,
  forward: (x, weight, bias, g, op) => subgroupForward(x, weight, bias, g, op, planned(g, 'forward')),
  gradInput: (dy, weight, g) => subgroupGradInput(dy, weight, g, planned(g, 'grad_input')),
};
