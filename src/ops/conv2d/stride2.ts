// The 'stride2' conv variant, forward and grad-input: kernels/conv2d_stride2.wgsl, the
// subgroup kernel's shape for undilated 3x3 convolutions of stride 2 with padding 1
// (ResNeXt's downsampling grouped convolutions, which the subgroup kernel does not take).
// Rows the kernel reads that are not whole vec4s are padded with zeros first.
import { kernelContract, runtime, WORKGROUPS_PER_DIMENSION } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { padLast } from '../fill.js';
import { CONV_WEIGHT_VEC4S, convSubgroupTiling, isFallback } from '../subgroup_plan.js';
import { blocks, CONV_PARAMS, convParams, isDownsampling3x3, type ConvGeometry } from './geometry.js';
import { convGrid, packWeights, planHere, type ConvAdapter, type ConvRole, type ConvVariantDef } from './variant.js';

/** The kernel's private arrays: output blocks per invocation (CB) and weight vec4s per lane. */
const CB_MAX = 2;
kernelContract('conv2d_stride2', { structs: [CONV_PARAMS], consts: { CB_MAX, WL_MAX: CONV_WEIGHT_VEC4S } });

interface Plan {
  constants: Record<string, number>;
  /** Rows of the input the role reads (x, or dy) as the kernel reads them: whole vec4s. */
  width: number;
  /** Invocations per image: each plane's chunks padded to whole subgroups. */
  perImage: number;
}

/** The plan for `role` on `g`, or null where the kernel does not apply: the forward takes
 *  4 output pixels an invocation; the grad-input 2 input rows of 8 columns, and dy's rows
 *  padded to 4 * ceil(W / 8) columns (the output columns those reach). */
function plan(g: ConvGeometry, adapter: ConvAdapter, role: ConvRole): Plan | null {
  if (role === 'grad_weight' || !isDownsampling3x3(g) || adapter.subgroups === null) return null;
  const { SG, WG } = adapter.subgroups;
  const tiling = convSubgroupTiling(SG, 9, g.C_out / g.groups);
  if (isFallback(tiling)) return null;
  const chunks = (rowChunks: number) => Math.ceil((g.H_out * rowChunks) / SG) * SG;
  let planned: Plan;
  if (role === 'forward') {
    const W_OUT4 = Math.ceil(g.W_out / 4) * 4;
    const constants = { WG, SG, W_OUT4, CB: Math.min(tiling.CB, CB_MAX) };
    planned = { constants, width: Math.ceil(g.W / 4) * 4, perImage: chunks(W_OUT4 / 4) };
  } else {
    const DY_W4 = 4 * Math.ceil(g.W / 8);
    planned = { constants: { WG, SG, DY_W4 }, width: DY_W4, perImage: chunks(DY_W4 / 4) };
  }
  return Math.ceil((g.N * planned.perImage) / WG) > WORKGROUPS_PER_DIMENSION ? null : planned;
}

function forward(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op: string): Tensor {
  const { constants, width, perImage } = planHere('the stride-2 subgroup kernel', plan, g, 'forward');
  const input = width === g.W ? x : padLast(op, x, width);
  const packed = packWeights(weight, g, false, op);
  const out = empty([g.N, g.C_out, g.H_out, g.W_out]);
  const supers = Math.ceil(blocks(g.C_out / g.groups) / constants.CB);
  runtime().launch(op, {
    kernel: 'conv2d_stride2',
    entry: 'main',
    constants: { ...constants, HAS_BIAS: Number(bias !== null) },
    bind: { input, weight: packed, bias: bias ?? packed, out },
    params: convParams({ ...g, W: width }),
    grid: convGrid(g.N * perImage, constants.WG, g.groups * supers),
  });
  packed.dispose();
  if (input !== x) input.dispose();
  return out;
}

function gradInput(dy: Tensor, weight: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const { constants, width, perImage } = planHere('the stride-2 subgroup kernel', plan, g, 'grad_input');
  const grad = width === g.W_out ? dy : padLast(op, dy, width);
  const packed = packWeights(weight, g, true, op);
  const out = empty([g.N, g.C_in, g.H, g.W]);
  runtime().launch(op, {
    kernel: 'conv2d_stride2',
    // Rows of whole vec4s store a vec4 at a time.
    entry: g.W % 4 === 0 ? 'grad_input4' : 'grad_input',
    constants,
    bind: { grad, weight: packed, out },
    params: convParams(g),
    grid: convGrid(g.N * perImage, constants.WG, g.groups * blocks(g.C_in / g.groups)),
  });
  packed.dispose();
  if (grad !== dy) grad.dispose();
  return out;
}

export const stride2: ConvVariantDef<'stride2'> = {
  name: 'stride2',
  kernels: ['conv2d', 'conv2d_stride2'],
  applies: (g, adapter, role) => plan(g, adapter, role) !== null,
  forward,
  gradInput,
};
