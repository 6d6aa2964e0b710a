// What a conv variant is: a way to run some of conv2d's roles (forward, grad-input,
// grad-weight) on some kernel, where it applies. Each variant is one file declaring a
// ConvVariantDef; registry.ts lists them and chooses among them. Also the helpers every
// variant shares: the adapter facts planning reads, kernels/conv2d.wgsl's contract and its
// weight packing, the partial-sum cap.
import { ResnextError } from '../../errors.js';
import { grid, kernelContract, runtime } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { subgroupsHere, type SubgroupLaunch } from '../subgroup_plan.js';
import type { KeyedCandidate } from '../tuner.js';
import { blocks, CONV_PARAMS, convParams, type ConvGeometry } from './geometry.js';

/** The three passes of a convolution, in the order a training step runs them. */
export const CONV_ROLES = ['forward', 'grad_input', 'grad_weight'] as const;
export type ConvRole = (typeof CONV_ROLES)[number];

/** What a variant's planning needs to know of the adapter. */
export interface ConvAdapter {
  /** The subgroup kernels' launch shape, or null where they do not run (src/ops/subgroup_plan.ts). */
  subgroups: SubgroupLaunch | null;
  /** A CPU/software adapter (lavapipe, SwiftShader), where workgroup memory and barriers are dear. */
  software: boolean;
}

/** This adapter, as planning sees it. */
export const adapterHere = (): ConvAdapter => ({ subgroups: subgroupsHere(), software: runtime().report.software });

/** One way to run conv2d's roles. A variant lacking a role's plan never runs that role. */
export interface ConvVariantDef<Name extends string = string> extends KeyedCandidate {
  readonly name: Name;
  /** Whether it runs `role` for `g` on `adapter` (`hasBias`: a forward that adds a bias). */
  applies(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole, hasBias: boolean): boolean;
  /** y = conv(x, weight) + bias. */
  readonly forward?: (x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op: string) => Tensor;
  /** dx from dy. */
  readonly gradInput?: (dy: Tensor, weight: Tensor, g: ConvGeometry) => Tensor;
  /** Partial sums of dw, [chunks, C_out * C_in/groups * kH * kW], which the op adds up. */
  readonly gradWeight?: (x: Tensor, dy: Tensor, g: ConvGeometry) => Tensor;
}

/** What `plan` (a variant's applicability test, giving its plan or null) gives for `role` on
 *  `g` on this adapter: a role runs on a variant only where it applies, so null is a bug. */
export function planHere<T>(
  what: string,
  plan: (g: ConvGeometry, adapter: ConvAdapter, role: ConvRole) => T | null,
  g: ConvGeometry,
  role: ConvRole,
): T {
  const planned = plan(g, adapterHere(), role);
  if (planned === null) throw new ResnextError(`internal: conv2d: ${what} does not apply to this ${role}`);
  return planned;
}

/** Whether `variant` has a plan for `role`. */
export function hasRole(variant: ConvVariantDef, role: ConvRole): boolean {
  return role === 'forward' ? !!variant.forward : role === 'grad_input' ? !!variant.gradInput : !!variant.gradWeight;
}

/** Invocations per workgroup of kernels/conv2d.wgsl (the subgroup kernel's: src/ops/subgroup_plan.ts). */
export const WG = 64;
/** kernels/conv2d.wgsl's forward and grad-input: the most pixels an invocation takes along a
 *  row (its sums' array), and the most input columns its row window holds. */
export const PX_MAX = 8;
export const WIN_MAX = 24;
kernelContract('conv2d', { structs: [CONV_PARAMS], consts: { PX_MAX, WIN_MAX } });

/** The conv kernels' grid: `invocations` along x, `perWorkgroup` to a workgroup, in one row
 *  (the kernels index by gid.x alone), then `layers` along y (their output channel blocks)
 *  and `batch` along z (grad-weight's chunks). */
export const convGrid = (invocations: number, perWorkgroup: number, layers = 1, batch = 1) =>
  grid.tiles(invocations, layers, perWorkgroup, 1, batch);

/** Largest grad-weight partial-sum buffer, in floats, before chunks are merged. */
export const MAX_PARTIAL_FLOATS = 4 << 20;

/** Floats in dw: C_out * C_in/groups * kH * kW. */
export const weightSize = (g: ConvGeometry) => g.C_out * (g.C_in / g.groups) * g.kH * g.kW;

/** Weights regrouped as vec4s of 4 output channels (or input channels, transposed). */
export function packWeights(weight: Tensor, g: ConvGeometry, transpose: boolean, op: string): Tensor {
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  const vectors = g.groups * (transpose ? blocks(cig) * cog : blocks(cog) * cig) * g.kH * g.kW;
  const packed = empty([vectors * 4]);
  runtime().launch(op, {
    kernel: 'conv2d',
    entry: 'pack_weights',
    constants: { WG, KH: g.kH, KW: g.kW, TRANSPOSE: Number(transpose), PACK_CIG: cig, PACK_COG: cog },
    bind: { weight, 'packed weight': packed },
    params: convParams(g),
    grid: convGrid(vectors, WG),
  });
  return packed;
}
