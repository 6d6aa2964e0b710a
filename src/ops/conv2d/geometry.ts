// The validated sizes of a conv2d call (shapes, stride, padding, dilation, groups), the
// output-size formula and the uniform struct its kernels read (ConvParams, in the contracts
// of kernels/conv2d.wgsl, conv2d_subgroup.wgsl and conv2d_naive.wgsl): shared by the op
// (op.ts), every variant (the files registry.ts lists), the benchmark's baseline and
// pooling (src/ops/pool.ts: pair).
import { ArgumentError, fmtShape, ShapeError, type Shape } from '../../errors.js';
import { kernelContract, uniformStruct, type UniformData } from '../../runtime/index.js';

export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** Every size a conv2d kernel needs, validated. */
export interface ConvGeometry {
  N: number;
  C_in: number;
  H: number;
  W: number;
  C_out: number;
  H_out: number;
  W_out: number;
  groups: number;
  kH: number;
  kW: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/** A number or pair argument as a pair, checked to be integers >= min. */
export function pair(op: string, name: string, value: Pair | undefined, fallback: Pair, min: number): [number, number] {
  const [a, b] =
    typeof value === 'number'
      ? [value, value]
      : (value ?? (typeof fallback === 'number' ? [fallback, fallback] : fallback));
  if (![a, b].every((v) => Number.isSafeInteger(v) && v >= min)) {
    throw new ArgumentError(op, name, `must be an integer >= ${min} or a pair of them, got ${JSON.stringify(value)}`);
  }
  return [a, b];
}

/** Output size along one axis of a window of `kernel` taps, `dilation` apart, sliding by
 *  `stride` over `size` padded by `padding` on both sides (PyTorch's formula). */
export const outputSize = (size: number, kernel: number, stride: number, padding: number, dilation = 1) =>
  Math.floor((size + 2 * padding - (dilation * (kernel - 1) + 1)) / stride) + 1;

export function convGeometry(xShape: Shape, wShape: Shape, options: Conv2dOptions = {}, op = 'conv2d'): ConvGeometry {
  if (xShape.length !== 4) throw new ShapeError(op, 'input', `must be 4-D [N, C_in, H, W], got ${fmtShape(xShape)}`);
  if (wShape.length !== 4)
    throw new ShapeError(op, 'weight', `must be 4-D [C_out, C_in/groups, kH, kW], got ${fmtShape(wShape)}`);
  const groups = options.groups ?? 1;
  if (!Number.isSafeInteger(groups) || groups < 1)
    throw new ArgumentError(op, 'groups', `must be a positive integer, got ${groups}`);
  const stride = pair(op, 'stride', options.stride, 1, 1);
  const padding = pair(op, 'padding', options.padding, 0, 0);
  const dilation = pair(op, 'dilation', options.dilation, 1, 1);
  const [N, C_in, H, W] = xShape;
  const [C_out, cig, kH, kW] = wShape;
  if (C_in % groups !== 0)
    throw new ArgumentError(
      op,
      'groups',
      `${groups} does not divide the input's ${C_in} channels (input ${fmtShape(xShape)})`,
    );
  if (C_out % groups !== 0)
    throw new ArgumentError(
      op,
      'groups',
      `${groups} does not divide the weight's ${C_out} output channels (weight ${fmtShape(wShape)})`,
    );
  if (cig * groups !== C_in) {
    throw new ShapeError(
      op,
      'weight',
      `has shape ${fmtShape(wShape)}: expected [${C_out}, ${C_in / groups}, kH, kW] for input ${fmtShape(xShape)} with groups=${groups}`,
    );
  }
  if ([N, C_in, H, W, C_out, kH, kW].some((d) => d < 1))
    throw new ShapeError(
      op,
      'input',
      `and weight must have no empty dimension: ${fmtShape(xShape)}, ${fmtShape(wShape)}`,
    );
  const span = (k: number, d: number) => d * (k - 1) + 1;
  const [pH, pW] = [H + 2 * padding[0], W + 2 * padding[1]];
  if (span(kH, dilation[0]) > pH || span(kW, dilation[1]) > pW) {
    throw new ShapeError(
      op,
      'weight',
      `kernel ${kH}x${kW} (dilation ${dilation.join('x')}) is larger than the padded input ${pH}x${pW} (input ${fmtShape(xShape)}, padding ${padding.join('x')})`,
    );
  }
  const H_out = outputSize(H, kH, stride[0], padding[0], dilation[0]);
  const W_out = outputSize(W, kW, stride[1], padding[1], dilation[1]);
  return { N, C_in, H, W, C_out, H_out, W_out, groups, kH, kW, stride, padding, dilation };
}

/** The sizes of a convolution as every conv kernel reads them: the fields ConvParams and
 *  the tiled kernel's TiledConvParams begin with. */
export const CONV_SIZE_FIELDS = {
  N: 'u32',
  C_in: 'u32',
  H: 'u32',
  W: 'u32',
  C_out: 'u32',
  H_out: 'u32',
  W_out: 'u32',
  groups: 'u32',
  kH: 'u32',
  kW: 'u32',
  stride_h: 'u32',
  stride_w: 'u32',
  pad_h: 'u32',
  pad_w: 'u32',
  dil_h: 'u32',
  dil_w: 'u32',
} as const;

/** The sizes, then rows_per_chunk: grad-weight's rows (portable) or work items (subgroup)
 *  per partial sum, 0 where unused. */
export const CONV_PARAMS = uniformStruct('ConvParams', { ...CONV_SIZE_FIELDS, rows_per_chunk: 'u32' });
/** The benchmark's baseline (src/bench/conv.ts: naiveForward) reads the same sizes and
 *  nothing else; registered here, with the op, like every kernel's contract. */
kernelContract('conv2d_naive', { structs: [CONV_PARAMS] });

/** `g`'s CONV_SIZE_FIELDS. */
export function convSizes(g: ConvGeometry) {
  const { N, C_in, H, W, C_out, H_out, W_out, groups, kH, kW } = g;
  const [[stride_h, stride_w], [pad_h, pad_w], [dil_h, dil_w]] = [g.stride, g.padding, g.dilation];
  return { N, C_in, H, W, C_out, H_out, W_out, groups, kH, kW, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w };
}

/** `g` packed as the kernels' ConvParams. */
export function convParams(g: ConvGeometry, rowsPerChunk = 0): UniformData {
  return CONV_PARAMS.pack({ ...convSizes(g), rows_per_chunk: rowsPerChunk });
}

/** Whether `g` is an undilated 3x3 of stride 2 with padding 1: ResNeXt's downsampling
 *  grouped convolutions, which the 'stride2' and 'wgrad-lanes' variants take. */
export function isDownsampling3x3(g: ConvGeometry): boolean {
  const both = (pair: readonly number[], value: number) => pair.every((v) => v === value);
  return g.kH === 3 && g.kW === 3 && both(g.stride, 2) && both(g.padding, 1) && both(g.dilation, 1);
}

/** 4-channel blocks (vec4s) that cover n channels. */
export const blocks = (n: number) => Math.ceil(n / 4);
