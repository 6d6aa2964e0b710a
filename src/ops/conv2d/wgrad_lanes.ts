// The 'wgrad-lanes' conv variant, grad-weight only: kernels/conv2d_wgrad_lanes.wgsl, whose
// subgroup lanes take input channels and walk rows of whole vec4s (rows that are not are
// padded with zeros first, as the 'subgroup-padded' variant pads them). It applies where
// the subgroup kernel's grad-weight does, for kernels of 1 or 3 each way, and to 3x3
// convolutions of stride 2 with padding 1.
import { grid, kernelContract, runtime, WORKGROUPS_PER_DIMENSION } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { padLast } from '../fill.js';
import { CONV_PARAMS, convParams, isDownsampling3x3, type ConvGeometry } from './geometry.js';
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

/** Subgroups the dispatch has at least, where the rows allow: as few as keep the adapter's
 *  cores busy, as every chunk of rows a subgroup sums adds a partial sum of all its weights,
 *  written lane by lane and then added up. Measured on lavapipe (2 threads, SG 8): at least
 *  64 ran ResNeXt-50's stage 2 in 4.1 ms, 256 in 4.5, 1024 in 10.5. A GPU needs far more
 *  subgroups in flight; 2048 (64K invocations at SG 32) is a guess, not yet measured, so
 *  that an untuned GPU run is not starved (the tuner times the other variants there too). */
const MIN_SUBGROUPS = { software: 64, hardware: 2048 };

interface Plan {
  /** Row widths the kernel reads: dy's and x's, padded to whole vec4s. */
  dyWidth: number;
  xWidth: number;
  constants: Record<string, number>;
  /** Row steps (SG / CI_T rows side by side) each partial sum covers, and those sums. */
  rowsPerChunk: number;
  chunks: number;
  /** Subgroups in the dispatch: one per (tile of channels, chunk). */
  subgroups: number;
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;
const floorPowerOfTwo = (n: number) => 2 ** Math.floor(Math.log2(n));

/** The stride the kernel runs `g` at, or null where it does not: stride-1 convolutions the
 *  subgroup kernel takes (its "same" kernels of at most 3x3 are 1 or 3 each way, the sizes
 *  with a centre tap), and undilated 3x3s of stride 2 with padding 1 (ResNeXt's downsampling
 *  grouped convolutions). */
function strideOf(g: ConvGeometry, adapter: ConvAdapter): 1 | 2 | null {
  if (subgroupRole(g, adapter, 'grad_weight') !== null) return 1;
  return isDownsampling3x3(g) && adapter.subgroups !== null && weightSize(g) <= MAX_PARTIAL_FLOATS ? 2 : null;
}

/** The plan for grad-weight on `g`, or null where the kernel does not apply. */
function plan(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole): Plan | null {
  const STRIDE = role === 'grad_weight' ? strideOf(g, adapter) : null;
  // strideOf found subgroups; the kernel's parts and lanes split a power of two.
  if (STRIDE === null || !isPowerOfTwo(adapter.subgroups!.SG)) return null;
  const { SG, WG } = adapter.subgroups!;
  const [dyWidth, xWidth] = [g.W_out, g.W].map((w) => Math.ceil(w / 4) * 4);
  const [cig, cog, taps] = [g.C_in / g.groups, g.C_out / g.groups, g.kH * g.kW];
  // Lanes on as many input channels as the group has, up to the subgroup; each sums for
  // as many output channels as its sums allow.
  const CI_T = Math.min(SG, floorPowerOfTwo(cig));
  const CO_T = Math.min(cog, Math.floor(SUMS_MAX / taps), DY_MAX * CI_T);
  const tiles = g.groups * Math.ceil(cig / CI_T) * Math.ceil(cog / CO_T);
  const rowSteps = Math.ceil((g.N * g.H_out) / (SG / CI_T));
  const rowsPerChunk = Math.max(
    Math.ceil(rowSteps / Math.ceil(MIN_SUBGROUPS[adapter.software ? 'software' : 'hardware'] / tiles)),
    Math.ceil(rowSteps / Math.floor(MAX_PARTIAL_FLOATS / weightSize(g))),
  );
  const chunks = Math.ceil(rowSteps / rowsPerChunk);
  const subgroups = tiles * chunks;
  if (Math.ceil((subgroups * SG) / WG) > WORKGROUPS_PER_DIMENSION ** 2) return null;
  return {
    dyWidth,
    xWidth,
    constants: { WG, SG, WIDTH: dyWidth, X_WIDTH: xWidth, STRIDE, KH: g.kH, KW: g.kW, CI_T, CO_T },
    rowsPerChunk,
    chunks,
    subgroups,
  };
}

/** `t` with rows padded with zeros to `width`, or `t` itself where they are that wide. */
const padded = (t: Tensor, width: number) => (t.shape[3] === width ? t : padLast('conv2d backward', t, width));

/** Partial sums of dW, [chunks, weightSize]. */
function gradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const planned = planHere('the lane-per-channel grad-weight', plan, g, 'grad_weight');
  const [xp, dyp] = [padded(x, planned.xWidth), padded(dy, planned.dyWidth)];
  const partial = empty([planned.chunks, weightSize(g)]);
  runtime().launch('conv2d backward', {
    kernel: 'conv2d_wgrad_lanes',
    entry: 'main',
    constants: planned.constants,
    bind: { input: xp, grad: dyp, partial },
    params: convParams({ ...g, W: planned.xWidth, W_out: planned.dyWidth }, planned.rowsPerChunk),
    grid: grid.items(planned.subgroups * planned.constants.SG, planned.constants.WG),
  });
  for (const t of [xp, dyp]) if (t !== x && t !== dy) t.dispose();
  return partial;
}

export const wgradLanes: ConvVariantDef<'wgrad-lanes'> = {
  name: 'wgrad-lanes',
  kernels: ['conv2d_wgrad_lanes'],
  applies: (g, adapter, role) => plan(g, adapter, role) !== null,
  gradWeight,
};
