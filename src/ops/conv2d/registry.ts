// The conv variants, and the one place a role's variant is chosen (chooseVariant). Adding
// a variant: a file declaring its ConvVariantDef (see variant.ts) and its line in VARIANTS.
import { ForcedChoices, preferredFirst, timedOnAdapter, tunedChoice, tuningKey } from '../tuner.js';
import type { ConvGeometry } from './geometry.js';
import { im2col } from './im2col.js';
import { pointwise } from './pointwise.js';
import { portable } from './portable.js';
import { subgroup } from './subgroup.js';
import { subgroupPadded, subgroupPaddedRows } from './subgroup_padded.js';
import { stride2 } from './stride2.js';
import { subgroupRows } from './subgroup_rows.js';
import { tiled } from './tiled.js';
import { wgradLanes } from './wgrad_lanes.js';
import { adapterHere, hasRole, type ConvRole, type ConvVariantDef } from './variant.js';

/** Every variant. Their names enter the tuning keys in this order: append new ones (a new
 *  candidate set re-times every stored choice). */
const VARIANTS = [
  portable,
  subgroup,
  subgroupRows,
  subgroupPadded,
  pointwise,
  tiled,
  im2col,
  wgradLanes,
  stride2,
  subgroupPaddedRows,
] as const;

/** The kernels a convolution role can run on: the portable one, the subgroup one, the
 *  subgroup forward with two output rows per invocation, the subgroup one on rows padded
 *  to whole vec4s, for 1x1 kernels batches of matrix products, the workgroup-tiled
 *  implicit GEMM built for discrete GPUs, grad-weight as products of the unrolled input,
 *  grad-weight with the subgroup's lanes on input channels (each walking rows), and the
 *  subgroup forward's shape for 3x3s of stride 2 (forward and grad-input), and the
 *  two-row forward on padded rows. */
export type ConvVariant = (typeof VARIANTS)[number]['name'];

const NAMES: readonly ConvVariant[] = VARIANTS.map((v) => v.name);

/** Per role, the order variants are preferred in where nothing was forced or tuned (the
 *  first that applies runs; portable always does) and timed in by the tuner, which then
 *  times the rest of VARIANTS in their order. What runs untuned (a prediction, the web
 *  page, a first training step) is the first that applies: 1x1 kernels as products
 *  ('matmul' applies to nothing else), 3x3s of stride 2 on their own kernel, rows that are
 *  not whole vec4s padded, else two output rows per invocation ('subgroup-rows' applies to
 *  whole-vec4 rows only); grad-weight past the 1x1s on 'wgrad-lanes', else unrolled into a
 *  product (the portable kernel ran 4.9-5.5x slower where neither subgroup grad-weight
 *  applies). Measured on lavapipe against the tuner's choices for every
 *  convolution of a training step (small ResNeXt at batch 1 and 64, resnext50_32x4d at 1
 *  and 4, resnext29_8x64d at 2, resnet50 at 1; docs/kernels.md): this order's kernels
 *  took 1.00-1.12x the tuned ones' GPU time in all, the order before it (subgroup first,
 *  wgrad-lanes for 1x1 grad-weights) 1.9-3.9x. */
const DEFAULT_ORDER: Record<ConvRole, readonly ConvVariant[]> = {
  forward: ['matmul', 'stride2', 'subgroup-padded', 'subgroup-rows', 'subgroup', 'portable'],
  grad_input: ['matmul', 'stride2', 'subgroup-padded', 'subgroup-rows', 'subgroup', 'portable'],
  grad_weight: ['matmul', 'wgrad-lanes', 'im2col', 'subgroup', 'portable'],
};

/** Variants forced by withConvVariant. */
const forced = new ForcedChoices<ConvVariant>();

/** Runs `body` with every convolution on `variant` where it applies (else as without),
 *  until the promise it returns settles if it returns one (a test's backward runs after
 *  an await). */
export function withConvVariant<T>(variant: ConvVariant, body: () => T): T {
  return forced.during(variant, body);
}

/** The shape part of a tuning key: `conv2d <role> <sizes>`. */
export const convSubject = (role: ConvRole, g: ConvGeometry) =>
  `conv2d ${role} ${g.N}x${g.C_in}x${g.H}x${g.W}->${g.C_out} k${g.kH}x${g.kW} s${g.stride.join('x')} p${g.padding.join('x')} d${g.dilation.join('x')} g${g.groups}`;

/** The tuning key of a role on `g`: its shape, every variant's kernels and names. */
export const convTuningKey = (role: ConvRole, g: ConvGeometry) => tuningKey(convSubject(role, g), VARIANTS);

/** The variants the tuner times for `role` on `g` (a forward adding a bias if `hasBias`)
 *  on this adapter: those that apply, the role's default order first, then the rest of
 *  VARIANTS; on a software adapter, none that is tuned on hardware only. */
export function applicableVariants(role: ConvRole, g: ConvGeometry, hasBias = false): ConvVariantDef<ConvVariant>[] {
  const adapter = adapterHere();
  const ordered = preferredFirst(DEFAULT_ORDER[role], NAMES).map(variantNamed);
  return ordered.filter(
    (v) => hasRole(v, role) && v.applies(g, adapter, role, hasBias) && timedOnAdapter(v, adapter.software),
  );
}

const variantNamed = (name: ConvVariant): ConvVariantDef<ConvVariant> => VARIANTS.find((v) => v.name === name)!;

/**
 * The variant `role` runs on for `g`, read top-down:
 * 1. `requested` (the tuner timing a candidate), else the innermost withConvVariant's, if it applies;
 * 2. else the tuner's stored choice for this role and shape, if it applies;
 * 3. else the first that applies in DEFAULT_ORDER[role] (portable always does).
 */
export function chooseVariant(
  role: ConvRole,
  g: ConvGeometry,
  hasBias = false,
  requested?: ConvVariant,
): ConvVariantDef<ConvVariant> {
  const adapter = adapterHere();
  const runs = (name: ConvVariant | undefined) => {
    const variant = name === undefined ? undefined : variantNamed(name);
    return variant && hasRole(variant, role) && variant.applies(g, adapter, role, hasBias) ? variant : undefined;
  };
  return (
    runs(requested ?? forced.innermost) ??
    runs(tunedChoice(convTuningKey(role, g), NAMES)) ??
    DEFAULT_ORDER[role].map(runs).find((v) => v !== undefined) ??
    portable
  );
}
