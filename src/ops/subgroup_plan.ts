// Whether the subgroup kernels (kernels/conv2d_subgroup.wgsl, kernels/matmul_subgroup.wgsl)
// can run on an adapter, and the constants that depend on its subgroup size. The planning
// is pure (a function of the size and the adapter's limits), so a unit test covers sizes no
// local adapter has: lavapipe gives 4, 8 or 16, GPUs 32 (NVIDIA, Apple) or 64 (AMD).
//
// Policy for the subgroup size:
// - The kernels plan their work around one FIXED size: lane l of a subgroup owns the l-th
//   4-pixel chunk (or vec4 of columns), and host-side dispatch sizes count subgroups. An
//   adapter whose size varies (subgroupMinSize != subgroupMaxSize, as on Intel) could run a
//   pipeline at a size the plan did not assume, so src/runtime/device.ts reports its size as
//   null and every op runs on the portable kernels (with a one-time notice).
// - Fixed sizes from MIN_SUBGROUP_SIZE (4) up run the subgroup kernels, in workgroups of
//   max(64, size) invocations: whole subgroups, so a subgroup never straddles two workgroups.
// - Anything else (a size below 4, one that does not divide its workgroup, a workgroup past
//   the adapter's limit) falls back to the portable kernels, saying so once per process.
import { runtime } from '../runtime/index.js';

/** Invocations per workgroup the subgroup kernels were tuned with (on lavapipe, SG = 8). */
export const SUBGROUP_KERNEL_WORKGROUP = 64;
/** kernels/matmul_subgroup.wgsl: rows of C per subgroup (its ROWS) and the most rows of A one
 *  lane loads per 4 steps of k (its A_PER_LANE). */
export const MATMUL_SUBGROUP_ROWS = 32;
export const MATMUL_A_PER_LANE = 8;
/** kernels/conv2d_subgroup.wgsl: weight vec4s a lane holds in the forward (its WL_MAX), over
 *  CB output blocks of ceil(taps / SG) each. */
export const CONV_WEIGHT_VEC4S = 8;
/** The smallest size both kernels serve: matmul's lanes share its 32 rows of A 8 apiece,
 *  and a 3x3 forward's 9 taps take 3 weight vec4s per lane and block (2 blocks fit). */
export const MIN_SUBGROUP_SIZE = MATMUL_SUBGROUP_ROWS / MATMUL_A_PER_LANE;
/** The 1x1 forward loads the weights of CI_STEP input channels at once, one per lane, and
 *  unrolls its loop over them: past 32 the loop only grows the shader. */
const POINTWISE_CHANNELS_PER_LOAD_MAX = 32;
const KERNEL_TAPS_MAX = 9;

/** What the planning needs to know of an adapter. */
export interface SubgroupAdapter {
  /** The fixed subgroup size, or null where the adapter has none (src/runtime/device.ts). */
  subgroupSize: number | null;
  /** Whether the device has the 'subgroups' feature at all. */
  hasSubgroups: boolean;
  maxInvocationsPerWorkgroup: number;
  /** RESNEXT_KERNELS=portable or runtime().portableKernels. */
  portableKernels: boolean;
}

/** The subgroup kernels' launch shape on an adapter: its subgroup size and the workgroup. */
export interface SubgroupLaunch {
  SG: number;
  WG: number;
}

/** Why the portable kernels run instead; `notice` where the user should hear of it (the
 *  adapter has subgroups the kernels cannot use), not for a choice they made or an adapter
 *  without subgroups. */
export interface SubgroupFallback {
  fallback: string;
  notice: boolean;
}

export function planSubgroups(a: SubgroupAdapter): SubgroupLaunch | SubgroupFallback {
  if (a.portableKernels)
    return {
      fallback: 'the portable kernels were asked for (RESNEXT_KERNELS=portable or runtime().portableKernels)',
      notice: false,
    };
  if (!a.hasSubgroups) return { fallback: "the adapter has no 'subgroups' feature", notice: false };
  const SG = a.subgroupSize;
  if (SG === null) {
    return {
      fallback:
        'the adapter reports no fixed subgroup size (subgroupMinSize != subgroupMaxSize, or unknown), which the subgroup kernels plan their work around',
      notice: true,
    };
  }
  if (!Number.isSafeInteger(SG) || SG < MIN_SUBGROUP_SIZE) {
    return {
      fallback: `subgroup size ${SG} is below the ${MIN_SUBGROUP_SIZE} lanes the subgroup kernels need`,
      notice: true,
    };
  }
  const WG = Math.max(SUBGROUP_KERNEL_WORKGROUP, SG);
  if (WG % SG !== 0)
    return {
      fallback: `subgroup size ${SG} does not divide a workgroup of ${WG} invocations into whole subgroups`,
      notice: true,
    };
  if (WG > a.maxInvocationsPerWorkgroup) {
    return {
      fallback: `a workgroup of one subgroup (${WG} invocations) exceeds the adapter's maxComputeInvocationsPerWorkgroup of ${a.maxInvocationsPerWorkgroup}`,
      notice: true,
    };
  }
  return { SG, WG };
}

export const isFallback = <T extends object>(p: T | SubgroupFallback): p is SubgroupFallback => 'fallback' in p;

/** kernels/conv2d_subgroup.wgsl's forward tiling for a launch: CB output blocks of 4
 *  channels per invocation (wanted: 4 for 1x1 kernels, 2 for larger, as measured on
 *  lavapipe) capped by the weight vec4s a lane holds, and CI_STEP, the input channels whose
 *  weights one load covers (one per lane for 1x1 kernels, else 1: lane l loads tap l). */
export function convSubgroupTiling(
  SG: number,
  taps: number,
  channelsOut: number,
): { CB: number; CI_STEP: number } | SubgroupFallback {
  if (taps > KERNEL_TAPS_MAX)
    return { fallback: `a kernel of ${taps} taps is larger than the subgroup convolution's 3x3`, notice: false };
  const pointwise = taps === 1;
  const weightVec4sPerBlock = Math.ceil(taps / SG);
  const blocksThatFit = Math.floor(CONV_WEIGHT_VEC4S / weightVec4sPerBlock);
  if (blocksThatFit < 1)
    return { fallback: `subgroup size ${SG} is too small for the ${taps}-tap subgroup convolution`, notice: true };
  const CB = Math.max(1, Math.min(pointwise ? 4 : 2, blocksThatFit, Math.floor(channelsOut / 4)));
  const CI_STEP = pointwise ? Math.min(SG, POINTWISE_CHANNELS_PER_LOAD_MAX) : 1;
  return { CB, CI_STEP };
}

/** Rows of A each lane of kernels/matmul_subgroup.wgsl loads: must fit its A_PER_LANE. */
export const matmulRowsPerLane = (SG: number) => Math.ceil(MATMUL_SUBGROUP_ROWS / SG);

const noticed = new Set<string>();

/** Prints `message` the first time this process sees it: a fallback is worth one line, not
 *  one per dispatch. */
export function noticeOnce(message: string): void {
  if (noticed.has(message)) return;
  noticed.add(message);
  console.warn(`resnext-webgpu: ${message}`);
}

function thisAdapter(): SubgroupAdapter {
  const rt = runtime();
  return {
    subgroupSize: rt.report.subgroupSize,
    hasSubgroups: rt.report.features.includes('subgroups'),
    maxInvocationsPerWorkgroup: rt.device.limits.maxComputeInvocationsPerWorkgroup,
    portableKernels: rt.portableKernels,
  };
}

/** The subgroup kernels' launch shape on this adapter, or null: the portable kernels run
 *  (with a one-time notice where the adapter's subgroups are the reason). */
export function subgroupsHere(): SubgroupLaunch | null {
  const plan = planSubgroups(thisAdapter());
  if (!isFallback(plan)) return plan;
  if (plan.notice) noticeOnce(`${plan.fallback}; using the portable kernels`);
  return null;
}

/** Why the subgroup kernels do not run on this adapter, or null where they do (tests skip
 *  what they cannot run, saying why). */
export function whySubgroupsUnavailable(): string | null {
  const plan = planSubgroups(thisAdapter());
  return isFallback(plan) ? plan.fallback : null;
}
