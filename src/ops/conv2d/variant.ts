// What a conv variant is: a way to run some of conv2d's roles (forward, grad-input,
// grad-weight) on some kernel, where it applies. Each variant is one file declaring a
// ConvVariantDef; registry.ts lists them and chooses among them. Also the helpers every
// variant shares: the adapter facts planning reads, the weight packing, the partial-sum cap.
import { runtime } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { subgroupsHere, type SubgroupLaunch } from '../subgroup_plan.js';
import { blocks, convParams, type ConvGeometry } from './geometry.js';

export type ConvRole = 'forward' | 'grad_input' | 'grad_weight';

/** What a variant's planning needs to know of the adapter. */
export interface ConvAdapter {
  /** The subgroup kernels' launch shape, or null where they do not run (src/ops/subgroup_plan.ts). */
  subgroups: SubgroupLaunch | null;
}

/** This adapter, as planning sees it. */
export const adapterHere = (): ConvAdapter => ({ subgroups: subgroupsHere() });

/** One way to run conv2d's roles. A variant lacking a role's plan never runs that role. */
export interface ConvVariantDef<Name extends string = string> {
  readonly name: Name;
  /** The kernels it dispatches: their sources' digests key the tuner's choices. */
  readonly kernels: readonly string[];
  /** Whether it runs `role` for `g` on `adapter` (`hasBias`: a forward that adds a bias). */
  applies(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole, hasBias: boolean): boolean;
  /** y = conv(x, weight) + bias. */
  readonly forward?: (x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op: string) => Tensor;
  /** dx from dy. */
  readonly gradInput?: (dy: Tensor, weight: Tensor, g: ConvGeometry) => Tensor;
  /** Partial sums of dw, [chunks, C_out * C_in/groups * kH * kW], which the op adds up. */
  readonly gradWeight?: (x: Tensor, dy: Tensor, g: ConvGeometry) => Tensor;
}

/** Whether `variant` has a plan for `role`. */
export function hasRole(variant: ConvVariantDef, role: ConvRole): boolean {
  return role === 'forward' ? !!variant.forward : role === 'grad_input' ? !!variant.gradInput : !!variant.gradWeight;
}

/** Invocations per workgroup of kernels/conv2d.wgsl (the subgroup kernel's: src/ops/subgroup_plan.ts). */
export const WG = 64;
/** Largest grad-weight partial-sum buffer, in floats, before chunks are merged. */
export const MAX_PARTIAL_FLOATS = 4 << 20;

/** Floats in dw: C_out * C_in/groups * kH * kW. */
export const weightSize = (g: ConvGeometry) => g.C_out * (g.C_in / g.groups) * g.kH * g.kW;

/** Weights regrouped as vec4s of 4 output channels (or input channels, transposed). */
export function packWeights(weight: Tensor, g: ConvGeometry, transpose: boolean, op: string): Tensor {
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  const vectors = g.groups * (transpose ? blocks(cig) * cog : blocks(cog) * cig) * g.kH * g.kW;
  const packed = empty([vectors * 4]);
  runtime().dispatch({
    kernel: 'conv2d',
    entry: 'pack_weights',
    constants: { WG, KH: g.kH, KW: g.kW, TRANSPOSE: Number(transpose) },
    buffers: [weight.buffer(op, 'weight'), packed.buffer(op, 'packed weight')],
    params: convParams(g),
    workgroups: [Math.ceil(vectors / WG)],
  });
  return packed;
}
