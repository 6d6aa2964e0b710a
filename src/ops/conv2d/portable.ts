// The 'portable' conv variant: kernels/conv2d.wgsl, which runs on any adapter, every role
// and every geometry (the variant every choice falls back to).
import { runtime } from '../../runtime/index.js';
import { empty, type Tensor } from '../../tensor.js';
import { blocks, convParams, type ConvGeometry } from './geometry.js';
import {
  convGrid,
  MAX_PARTIAL_FLOATS,
  packWeights,
  PX_MAX,
  WG,
  WIN_MAX,
  weightSize,
  type ConvVariantDef,
} from './variant.js';

/** The kernel's shape constants: loops over taps unroll, one pipeline per geometry. */
function shapeConstants(g: ConvGeometry): Record<string, number> {
  return {
    WG,
    KH: g.kH,
    KW: g.kW,
    STRIDE_H: g.stride[0],
    STRIDE_W: g.stride[1],
    DIL_H: g.dilation[0],
    DIL_W: g.dilation[1],
  };
}

/** Pixels per invocation: the candidate that pads the row least (7 fits ResNet's 56, 28,
 *  14 and 7), the larger on a tie, shrunk until its window fits. */
function pixelsPerInvocation(width: number, window: (px: number) => number): number {
  const candidates = [PX_MAX, 7, 4, 2, 1].filter((px) => px === 1 || window(px) <= WIN_MAX);
  const padded = (px: number) => Math.ceil(width / px) * px;
  return candidates.reduce((best, px) => (padded(px) < padded(best) ? px : best));
}

/** forward and grad_input read their row windows as vec4s when the rows they read (x's,
 *  of `width`, or dy's) are whole vec4s (see ALIGNED in the kernel). */
function alignedWindow(g: ConvGeometry, width: number, px: number): { ALIGNED: number; PAD_W: number } {
  const aligned = width % 4 === 0 && g.stride[1] === 1 && px % 4 === 0;
  return { ALIGNED: Number(aligned), PAD_W: aligned ? g.padding[1] : 0 };
}

function forward(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op: string): Tensor {
  const y = empty([g.N, g.C_out, g.H_out, g.W_out]);
  const packed = packWeights(weight, g, false, op);
  const PX = pixelsPerInvocation(g.W_out, (px) => (px - 1) * g.stride[1] + (g.kW - 1) * g.dilation[1] + 1);
  runtime().launch(op, {
    kernel: 'conv2d',
    entry: 'forward',
    constants: { ...shapeConstants(g), PX, HAS_BIAS: Number(bias !== null), ...alignedWindow(g, g.W, PX) },
    bind: { input: x, weight: packed, bias: bias ?? packed, out: y },
    params: convParams(g),
    grid: convGrid(Math.ceil(g.W_out / PX) * g.H_out * g.N, WG, g.groups * blocks(g.C_out / g.groups)),
  });
  packed.dispose();
  return y;
}

function gradInput(dy: Tensor, weight: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const dx = empty([g.N, g.C_in, g.H, g.W]);
  const packed = packWeights(weight, g, true, op);
  const s = g.stride[1];
  // Stride 1: a window of PX + kW - 1 columns, PX chosen to pad the row least. Stride s
  // dividing PX_MAX (8): 8 pixels whose taps read a window of about 8 / s columns (measured
  // on lavapipe: 30% faster than the unwindowed kernel at its best PX, whatever the padding).
  const strideWindow = Math.ceil((PX_MAX + (g.kW - 1) * g.dilation[1]) / s) + 1;
  const PX =
    s > 1 && PX_MAX % s === 0 && strideWindow <= WIN_MAX
      ? PX_MAX
      : pixelsPerInvocation(g.W, (px) => (s === 1 ? px + (g.kW - 1) * g.dilation[1] : 0));
  runtime().launch(op, {
    kernel: 'conv2d',
    entry: 'grad_input',
    constants: {
      ...shapeConstants(g),
      PX,
      ...alignedWindow(g, g.W_out, PX),
      ...(s > 1 ? { PAD_W: g.padding[1] } : {}),
    },
    bind: { grad: dy, weight: packed, grad_input: dx },
    params: convParams(g),
    grid: convGrid(Math.ceil(g.W / PX) * g.H * g.N, WG, g.groups * blocks(g.C_in / g.groups)),
  });
  packed.dispose();
  return dx;
}

/** The N*H_out rows are split into chunks, one partial sum each, enough to fill the device. */
function chunking(g: ConvGeometry, workgroupsPerChunk: number, size: number): { chunks: number; rowsPerChunk: number } {
  const rows = g.N * g.H_out;
  const wanted = Math.max(Math.ceil(64 / workgroupsPerChunk), Math.ceil(rows / 32));
  const allowed = Math.min(rows, Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / size)));
  const rowsPerChunk = Math.ceil(rows / Math.max(1, Math.min(wanted, allowed)));
  return { chunks: Math.ceil(rows / rowsPerChunk), rowsPerChunk };
}

function gradWeight(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const size = weightSize(g);
  const items = blocks(size / g.C_out) * blocks(g.C_out / g.groups) * g.groups;
  const { chunks, rowsPerChunk } = chunking(g, Math.ceil(items / WG), size);
  const partial = empty([chunks, size]);
  runtime().launch(op, {
    kernel: 'conv2d',
    entry: 'grad_weight',
    constants: shapeConstants(g),
    bind: { input: x, grad: dy, partial },
    params: convParams(g, rowsPerChunk),
    grid: convGrid(items, WG, 1, chunks),
  });
  return partial;
}

export const portable: ConvVariantDef<'portable'> = {
  name: 'portable',
  kernels: ['conv2d'],
  applies: () => true,
  forward,
  gradInput,
  gradWeight,
};
