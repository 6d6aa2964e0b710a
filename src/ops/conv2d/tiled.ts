// The 'tiled' conv variant: kernels/conv2d_tiled.wgsl, every role as a workgroup-tiled
// implicit GEMM (operand tiles in workgroup memory, a 4x4 block of outputs per invocation),
// the standard shape on discrete GPUs. It needs no subgroups and takes every geometry, so
// it runs on every adapter. On CPU adapters barriers and workgroup memory are dear: on
// lavapipe it ran 7-30x slower than the best other variant on every bench conv shape, so
// the tuner times it on hardware adapters only (tunedOnHardwareOnly); tests force it
// everywhere.
import { ResnextError } from '../../errors.js';
import { kernelContract, linearGrid, runtime, uniformStruct, WORKGROUPS_PER_DIMENSION } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { CONV_SIZE_FIELDS, convSizes, type ConvGeometry } from './geometry.js';
import { TILE_BLOCK, workgroupTile, type WorkgroupTile } from '../workgroup_tile.js';
import { MAX_PARTIAL_FLOATS, weightSize, type ConvVariantDef } from './variant.js';

/** Rows and columns of the block of outputs each invocation sums (a vec4 of columns per row). */
export const BLOCK = TILE_BLOCK;

/** The sizes the kernel reads: the convolution's, then the GEMM's per group (rows x cols,
 *  summed over depth), the depth one grad-weight chunk sums, and whether forward adds a bias. */
export const TILED_PARAMS = uniformStruct('TiledConvParams', {
  ...CONV_SIZE_FIELDS,
  rows: 'u32',
  cols: 'u32',
  depth: 'u32',
  depth_per_chunk: 'u32',
  has_bias: 'u32',
});
kernelContract('conv2d_tiled', { structs: [TILED_PARAMS], consts: { BLOCK } });

/** grad-weight: workgroups its chunks should give the device at least (a discrete GPU's
 *  SMs several times over), and the most depth one chunk sums (long dispatches can lose
 *  the device on real GPUs). */
const GRAD_WEIGHT_WORKGROUPS = 512;
const MAX_DEPTH_PER_CHUNK = 16384;

export type TileShape = WorkgroupTile;

/** The tile for a rows x cols product (src/ops/workgroup_tile.ts). */
export const tileShape = (rows: number, cols: number): TileShape => workgroupTile(rows, cols, 'conv2d');

/** One product per group: rows x cols, summed over depth in chunks of depthPerChunk. */
export interface Gemm {
  rows: number;
  cols: number;
  depth: number;
  depthPerChunk: number;
  chunks: number;
}

const wholeDepth = (rows: number, cols: number, depth: number): Gemm => ({
  rows,
  cols,
  depth,
  depthPerChunk: depth,
  chunks: 1,
});

/** The kernel's uniform for `gemm` on `g`. */
function tiledParams(g: ConvGeometry, gemm: Gemm, hasBias: boolean) {
  return TILED_PARAMS.pack({
    ...convSizes(g),
    rows: gemm.rows,
    cols: gemm.cols,
    depth: gemm.depth,
    depth_per_chunk: gemm.depthPerChunk,
    has_bias: Number(hasBias),
  });
}

/** Dispatches `entry` for `gemm` over every group at once: tiles on a linear grid (the
 *  kernel's tile_of), chunks of the depth along z. */
function launchGemm(
  op: string,
  entry: 'forward' | 'grad_input' | 'grad_weight',
  bind: Record<string, Tensor>,
  g: ConvGeometry,
  gemm: Gemm,
  hasBias = false,
): void {
  const tile = tileShape(gemm.rows, gemm.cols);
  const tiles = Math.ceil(gemm.rows / tile.BM) * Math.ceil(gemm.cols / tile.BN) * g.groups;
  if (gemm.chunks > WORKGROUPS_PER_DIMENSION)
    throw new ResnextError(`internal: conv2d tiled: ${gemm.chunks} chunks exceed the grid's z`);
  runtime().launch(op, {
    kernel: 'conv2d_tiled',
    entry,
    constants: { ...tile },
    bind,
    params: tiledParams(g, gemm, hasBias),
    grid: [...linearGrid(tiles), gemm.chunks],
  });
}

const perGroup = (g: ConvGeometry) => ({ cig: g.C_in / g.groups, cog: g.C_out / g.groups, taps: g.kH * g.kW });

function forward(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op: string): Tensor {
  const { cig, cog, taps } = perGroup(g);
  const y = empty([g.N, g.C_out, g.H_out, g.W_out]);
  const gemm = wholeDepth(cog, g.N * g.H_out * g.W_out, cig * taps);
  // Without a bias the weight stands in at its binding, which the kernel then never reads.
  launchGemm(op, 'forward', { weight, input: x, bias: bias ?? weight, out: y }, g, gemm, bias !== null);
  return y;
}

function gradInput(dy: Tensor, weight: Tensor, g: ConvGeometry): Tensor {
  const { cig, cog, taps } = perGroup(g);
  const dx = empty([g.N, g.C_in, g.H, g.W]);
  const gemm = wholeDepth(cig, g.N * g.H * g.W, cog * taps);
  launchGemm('conv2d backward', 'grad_input', { weight, grad: dy, unused: weight, grad_input: dx }, g, gemm);
  return dx;
}

/** grad-weight's depth (every output pixel of every image) in chunks: enough for the
 *  device to have GRAD_WEIGHT_WORKGROUPS, none longer than MAX_DEPTH_PER_CHUNK, within
 *  the partial-sum cap; whole depth steps each, so chunks end on a tile load. */
export function gradWeightGemm(g: ConvGeometry): Gemm {
  const { cig, cog, taps } = perGroup(g);
  const [rows, cols, depth] = [cog, cig * taps, g.N * g.H_out * g.W_out];
  const tile = tileShape(rows, cols);
  const tiles = Math.ceil(rows / tile.BM) * Math.ceil(cols / tile.BN) * g.groups;
  const wanted = Math.max(Math.ceil(GRAD_WEIGHT_WORKGROUPS / tiles), Math.ceil(depth / MAX_DEPTH_PER_CHUNK));
  const allowed = Math.min(
    Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / weightSize(g))),
    Math.ceil(depth / tile.BK),
    WORKGROUPS_PER_DIMENSION,
  );
  const perChunk = Math.ceil(depth / Math.max(1, Math.min(wanted, allowed)));
  const depthPerChunk = Math.ceil(perChunk / tile.BK) * tile.BK;
  return { rows, cols, depth, depthPerChunk, chunks: Math.ceil(depth / depthPerChunk) };
}

function gradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const gemm = gradWeightGemm(g);
  const partial = empty([gemm.chunks, weightSize(g)]);
  launchGemm('conv2d backward', 'grad_weight', { grad: dy, input: x, unused: dy, partial }, g, gemm);
  return partial;
}

export const tiled: ConvVariantDef<'tiled'> = {
  name: 'tiled',
  kernels: ['conv2d_tiled'],
  tunedOnHardwareOnly: true,
  applies: () => true,
  forward,
  gradInput,
  gradWeight,
};
