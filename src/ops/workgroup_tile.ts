// The tile of a workgroup-tiled product (kernels/conv2d_tiled.wgsl and matmul_tiled.wgsl):
// rows x columns of outputs per workgroup, each invocation a BLOCK x BLOCK block of them,
// and the depth steps each load of the two operand tiles into workgroup memory covers.
import { ResnextError } from '../errors.js';

/** Rows and columns of the block of outputs each invocation sums (a vec4 of columns per row). */
export const TILE_BLOCK = 4;

/** WebGPU's default limits, which a tile stays within. */
const MAX_INVOCATIONS = 256;
const MAX_WORKGROUP_BYTES = 16384;
/** The largest tile sides: 64 x 64 outputs at 256 invocations; a 4-row tile may take 256 columns. */
const MAX_TILE_ROWS = 64;
const MAX_TILE_COLS = 256;
/** Depth steps per tile load: the larger where both tiles fit in workgroup memory. */
const DEPTH_STEPS = [16, 8] as const;

export interface WorkgroupTile {
  /** Rows and columns of outputs per workgroup, depth steps per load. */
  BM: number;
  BN: number;
  BK: number;
}

const powerOfTwoAtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** The tile for a rows x cols product: as many rows as it has (4 to 64), then as many
 *  columns as 256 invocations allow (16 to 256), then the deeper depth step that fits in
 *  workgroup memory. Powers of two, so a few pipelines serve every shape, and a one-row
 *  product (a linear layer on one sample) does not idle 63 rows of a 64 x 64 tile. */
export function workgroupTile(rows: number, cols: number, op: string): WorkgroupTile {
  const BM = Math.min(MAX_TILE_ROWS, Math.max(TILE_BLOCK, powerOfTwoAtLeast(rows)));
  const widest = Math.min(MAX_TILE_COLS, (MAX_INVOCATIONS * TILE_BLOCK * TILE_BLOCK) / BM);
  const BN = Math.min(widest, Math.max(16, powerOfTwoAtLeast(cols)));
  const BK = DEPTH_STEPS.find((k) => k * (BM + BN) * 4 <= MAX_WORKGROUP_BYTES);
  if (BK === undefined) throw new ResnextError(`internal: ${op} tiled: no depth step fits a ${BM}x${BN} tile`);
  return { BM, BN, BK };
}
