// The 'wgrad-lanes' conv variant, grad-weight only: kernels/conv2d_wgrad_lanes.wgsl, whose
// subgroup lanes take input channels and walk rows of whole vec4s (rows that are not are
// padded with zeros first, as the 'subgroup-padded' variant pads them). It applies where
// the subgroup kernel's grad-weight does, for kernels of 1 or 3 each way.
import { grid, kernelContract, runtime, WORKGROUPS_PER_DIMENSION } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { padLast } from '../fill.js';
import { CONV_PARAMS, convParams, type ConvGeometry } from './geometry.js';
import { subgroupRole } from './subgroup.js';
import {
  MAX_PARTIAL_FLOATS,
  planHere,
  weightSize,
  type ConvAdapter,
  type ConvRole,
  type ConvVariantDef,
} from './variant.js';

/** The kernel's private arrays: a lane's sums (CO_T * KH * KW) and its dy loads per step
 *  (ceil(CO_T / CI_T)). */
const SUMS_MAX = 72;
const DY_MAX = 8;
kernelContract('conv2d_wgrad_lanes', { structs: [CONV_PARAMS], consts: { SUMS_MAX, DY_MAX } });

/** Subgroups the dispatch has at least, where the rows allow: as few as keep lavapipe's
 *  threads busy, as every chunk of rows a subgroup sums adds a partial sum of all its
 *  weights, written lane by lane and then added up. Measured on lavapipe (2 threads, SG 8):
 *  at least 64 ran ResNeXt-50's stage 2 in 4.1 ms, 256 in 4.5, 1024 in 10.5. */
const MIN_SUBGROUPS = 64;

interface Plan {
  /** The geometry the kernel runs: rows padded to whole vec4s. */
  padded: ConvGeometry;
  constants: Record<string, number>;
  /** Row steps (SG / CI_T rows side by side) each partial sum covers, and those sums. */
  rowsPerChunk: number;
  chunks: number;
  /** Subgroups in the dispatch: one per (tile of channels, chunk). */
  subgroups: number;
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;
const floorPowerOfTwo = (n: number) => 2 ** Math.floor(Math.log2(n));
const odd = (k: number) => k === 1 || k === 3;

/** The plan for grad-weight on `g`, or null where the kernel does not apply. */
function plan(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole): Plan | null {
  if (role !== 'grad_weight' || !odd(g.kH) || !odd(g.kW) || subgroupRole(g, adapter, role) === null) return null;
  const { SG, WG } = adapter.subgroups!;
  if (!isPowerOfTwo(SG)) return null;
  const W = Math.ceil(g.W / 4) * 4;
  const [cig, cog, taps] = [g.C_in / g.groups, g.C_out / g.groups, g.kH * g.kW];
  // Lanes on as many input channels as the group has, up to the subgroup; each sums for
  // as many output channels as its sums allow.
  const CI_T = Math.min(SG, floorPowerOfTwo(cig));
  const CO_T = Math.min(cog, Math.floor(SUMS_MAX / taps), DY_MAX * CI_T);
  const tiles = g.groups * Math.ceil(cig / CI_T) * Math.ceil(cog / CO_T);
  const rowSteps = Math.ceil((g.N * g.H) / (SG / CI_T));
  const rowsPerChunk = Math.max(
    Math.ceil(rowSteps / Math.ceil(MIN_SUBGROUPS / tiles)),
    Math.ceil(rowSteps / Math.floor(MAX_PARTIAL_FLOATS / weightSize(g))),
  );
  const chunks = Math.ceil(rowSteps / rowsPerChunk);
  const subgroups = tiles * chunks;
  if (Math.ceil((subgroups * SG) / WG) > WORKGROUPS_PER_DIMENSION ** 2) return null;
  return {
    padded: { ...g, W, W_out: W },
    constants: { WG, SG, WIDTH: W, KH: g.kH, KW: g.kW, CI_T, CO_T },
    rowsPerChunk,
    chunks,
    subgroups,
  };
}

/** Partial sums of dW, [chunks, weightSize]. */
function gradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const { padded, constants, rowsPerChunk, chunks, subgroups } = planHere(
    'the lane-per-channel grad-weight',
    plan,
    g,
    'grad_weight',
  );
  const [xp, dyp] = padded.W === g.W ? [x, dy] : [padLast(op, x, padded.W), padLast(op, dy, padded.W)];
  const partial = empty([chunks, weightSize(g)]);
  runtime().launch(op, {
    kernel: 'conv2d_wgrad_lanes',
    entry: 'main',
    constants,
    bind: { input: xp, grad: dyp, partial },
    params: convParams(padded, rowsPerChunk),
    grid: grid.items(subgroups * constants.SG, constants.WG),
  });
  if (xp !== x) [xp, dyp].forEach((t) => t.dispose());
  return partial;
}

export const wgradLanes: ConvVariantDef<'wgrad-lanes'> = {
  name: 'wgrad-lanes',
  kernels: ['conv2d_wgrad_lanes'],
  applies: (g, adapter, role) => plan(g, adapter, role) !== null,
  gradWeight,
};
