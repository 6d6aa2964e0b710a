// Grouped 2-D convolution (kernels/conv2d.wgsl): PyTorch's conv2d in NCHW with stride,
// padding, dilation and groups, and its backward (grad-input, grad-weight, grad-bias),
// each one dispatch over all groups. Where they apply, a role runs instead on the subgroup
// kernel (conv2d_subgroup.ts) or as matrix products (conv2d_pointwise.ts): which one is
// decided here, by the autotuner's choice or a forced variant (withConvVariant).
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError, type Shape } from '../errors.js';
import { runtime } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { randn } from '../creation.js';
import { Generator } from '../random.js';
import { blocks, convGeometry, convParams, type Conv2dOptions, type ConvGeometry } from './conv2d_geometry.js';
import { pointwiseApplies, pointwiseForward, pointwiseGradInput, pointwiseGradWeight } from './conv2d_pointwise.js';
import { subgroupConstants, subgroupConv, subgroupGradWeight, withRows } from './conv2d_subgroup.js';
import { cropLast, padLast } from './fill.js';
import { reduceKernel } from './reduce_kernel.js';
import { stridedSlice } from './slice.js';
import { expectTensor } from './validate.js';

export { convGeometry, convParams, pair, type Conv2dOptions, type ConvGeometry, type Pair } from './conv2d_geometry.js';

/** Invocations per workgroup of kernels/conv2d.wgsl (the subgroup kernel's: src/ops/subgroup_plan.ts). */
const WG = 64;
/** Largest grad-weight partial-sum buffer, in floats, before chunks are merged. */
const MAX_PARTIAL_FLOATS = 4 << 20;

/** Must match WIN_MAX in kernels/conv2d.wgsl (pixels per invocation are at most its PX_MAX, 8). */
const WIN_MAX = 24;

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
  const candidates = [8, 7, 4, 2, 1].filter((px) => px === 1 || window(px) <= WIN_MAX);
  const padded = (px: number) => Math.ceil(width / px) * px;
  return candidates.reduce((best, px) => (padded(px) < padded(best) ? px : best));
}

/** forward and grad_input read their row windows as vec4s when the rows they read (x's,
 *  of `width`, or dy's) are whole vec4s (see ALIGNED in the kernel). */
function alignedWindow(g: ConvGeometry, width: number, px: number): { ALIGNED: number; PAD_W: number } {
  const aligned = width % 4 === 0 && g.stride[1] === 1 && px % 4 === 0;
  return { ALIGNED: Number(aligned), PAD_W: aligned ? g.padding[1] : 0 };
}

/** Weights regrouped as vec4s of 4 output channels (or input channels, transposed). */
function packWeights(weight: Tensor, g: ConvGeometry, transpose: boolean, op: string): Tensor {
  const [cig, cog] = [g.C_in / g.groups, g.C_out / g.groups];
  const vectors = g.groups * (transpose ? blocks(cig) * cog : blocks(cog) * cig) * g.kH * g.kW;
  const packed = empty([vectors * 4]);
  runtime().dispatch({
    kernel: 'conv2d',
    entry: 'pack_weights',
    constants: { WG, KH: g.kH, KW: g.kW, TRANSPOSE: Number(transpose) },
    buffers: [weight.buffer(op, 'weight'), packed.buffer(op, 'packed weight')],
    params: convParams(g),
    workgroups: [Math.ceil(vectors / WG)],
  });
  return packed;
}

export type ConvRole = 'forward' | 'grad_input' | 'grad_weight';
/** The kernels a convolution role can run on: the portable one, the subgroup one, the
 *  subgroup forward with two output rows per invocation, the subgroup one on rows padded
 *  to whole vec4s, and for 1x1 kernels, batches of matrix products (conv2d_pointwise.ts). */
const VARIANTS = ['portable', 'subgroup', 'subgroup-rows', 'subgroup-padded', 'matmul'] as const;
export type ConvVariant = (typeof VARIANTS)[number];
/** Set while the tuner times one variant. */
let forcedVariant: ConvVariant | null = null;

const tuningKey = (role: ConvRole, g: ConvGeometry) =>
  `conv2d ${role} ${g.N}x${g.C_in}x${g.H}x${g.W}->${g.C_out} k${g.kH}x${g.kW} s${g.stride.join('x')} p${g.padding.join('x')} d${g.dilation.join('x')} g${g.groups} ${kernelVersions()}`;

/** The candidates' kernel sources, digested, and their names: a choice holds for the
 *  kernels it timed (a new candidate or an edited kernel is timed afresh). */
const kernelVersions = () =>
  [...['conv2d', 'conv2d_subgroup', 'matmul_subgroup'].map((k) => runtime().kernelDigest(k)), VARIANTS.join(',')].join(
    '/',
  );

/** The subgroup kernel's constants where it applies and is chosen for this role and shape
 *  (by the tuner, else by default), or null: the portable kernel runs. */
function subgroupPlan(role: ConvRole, g: ConvGeometry): Record<string, number> | null {
  const constants = subgroupConstants(g, (role === 'grad_input' ? g.C_in : g.C_out) / g.groups);
  if (!constants || (role === 'grad_weight' && g.C_out * (g.C_in / g.groups) * g.kH * g.kW > MAX_PARTIAL_FLOATS))
    return null;
  const variant = chosenVariant(role, g);
  if (variant === 'portable') return null;
  return (variant === 'subgroup-rows' && role !== 'grad_weight' && withRows(constants)) || constants;
}

const chosenVariant = (role: ConvRole, g: ConvGeometry) =>
  forcedVariant ?? (runtime().tuning.get(tuningKey(role, g)) as ConvVariant | undefined) ?? 'subgroup';

/** Whether this role runs as matrix products: chosen, applicable, and (forward) without bias. */
const onMatmul = (role: ConvRole, g: ConvGeometry, hasBias = false) =>
  chosenVariant(role, g) === 'matmul' && !hasBias && pointwiseApplies(g);

/** `g` on rows padded with zeros to whole vec4s, where that is a geometry the subgroup
 *  kernel takes with the same result: the zeros past each row are the right padding it
 *  would otherwise mask (planes of 7x7 become 7x8: aligned loads, no per-pixel masks). */
function paddedRows(role: ConvRole, g: ConvGeometry): ConvGeometry | null {
  const W = Math.ceil(g.W / 4) * 4;
  if (W === g.W || W - g.W < g.padding[1]) return null;
  const padded = { ...g, W, W_out: W };
  return withConvVariant('subgroup', () => subgroupPlan(role, g) && subgroupPlan(role, padded)) ? padded : null;
}

/** Whether this role runs on padded rows: chosen and applicable. */
const onPaddedRows = (role: ConvRole, g: ConvGeometry) =>
  chosenVariant(role, g) === 'subgroup-padded' ? paddedRows(role, g) : null;

/** The kernels the tuner times for a role and shape where the subgroup kernel applies. */
function candidates(role: ConvRole, g: ConvGeometry): ConvVariant[] {
  const rows = role !== 'grad_weight' && withConvVariant('subgroup', () => withRows(subgroupPlan(role, g)!)) !== null;
  const variants: ConvVariant[] = rows ? ['subgroup', 'subgroup-rows', 'portable'] : ['subgroup', 'portable'];
  if (paddedRows(role, g)) variants.push('subgroup-padded');
  return pointwiseApplies(g) ? [...variants, 'matmul'] : variants;
}

/** A convolution a traced computation ran, and which of its kernels it needed. */
export interface ConvUse {
  geometry: ConvGeometry;
  roles: ConvRole[];
}

let traced: Map<string, ConvUse> | null = null;

/** Records the convolutions conv2d() runs from now until the returned function is called,
 *  which returns them: the shapes a model needs, for tuneConv2d. */
export function traceConv2d(): () => ConvUse[] {
  const uses = (traced = new Map<string, ConvUse>());
  return () => {
    if (traced === uses) traced = null;
    return [...uses.values()];
  };
}

function noteUse(g: ConvGeometry, roles: ConvRole[]): void {
  const key = tuningKey('forward', g);
  const use = traced!.get(key) ?? { geometry: g, roles: [] };
  use.roles = [...new Set([...use.roles, ...roles])];
  traced!.set(key, use);
}

export interface TunedChoice {
  key: string;
  choice: ConvVariant;
  /** Best GPU time of each candidate, ms. */
  ms: Partial<Record<ConvVariant, number>>;
}

/** Times the candidates (portable, subgroup, the subgroup forward's two-row form, products
 *  for 1x1) of each use where they apply and no choice is known yet, and keeps the fastest
 *  in runtime().tuning. Returns what it decided. */
export async function tuneConv2d(uses: readonly ConvUse[]): Promise<TunedChoice[]> {
  const decided: TunedChoice[] = [];
  for (const { geometry: g, roles } of uses) {
    const open = roles.filter(
      (role) =>
        !runtime().tuning.get(tuningKey(role, g)) && withConvVariant('subgroup', () => subgroupPlan(role, g)) !== null,
    );
    if (open.length === 0) continue;
    // Its own generator: tuning must not move the draws of the caller's random streams.
    const generator = new Generator(0);
    const inputs = [
      [g.N, g.C_in, g.H, g.W],
      [g.C_out, g.C_in / g.groups, g.kH, g.kW],
      [g.N, g.C_out, g.H_out, g.W_out],
    ].map((shape) => randn(shape, { generator }));
    const [x, w, dy] = inputs;
    const run: Record<ConvRole, () => Tensor> = {
      forward: () => convForward(x, w, null, g),
      grad_input: () => convGradInput(dy, w, g),
      grad_weight: () => convGradWeight(x, dy, w.shape, g),
    };
    for (const role of open) {
      const ms: TunedChoice['ms'] = {};
      let choice: ConvVariant = 'subgroup';
      for (const variant of candidates(role, g)) {
        ms[variant] = await bestTime(variant, run[role]);
        if (ms[variant] < ms[choice]!) choice = variant;
      }
      runtime().tuning.set(tuningKey(role, g), choice);
      decided.push({ key: tuningKey(role, g), choice, ms });
    }
    inputs.forEach((t) => t.dispose());
  }
  return decided;
}

/** Runs `body` with every convolution on `variant` where it applies (else as without),
 *  until the promise it returns settles if it returns one (a test's backward runs after
 *  an await). */
export function withConvVariant<T>(variant: ConvVariant, body: () => T): T {
  const previous = forcedVariant;
  forcedVariant = variant;
  let result: T;
  try {
    result = body();
  } catch (error) {
    forcedVariant = previous;
    throw error;
  }
  if (!(result instanceof Promise)) {
    forcedVariant = previous;
    return result;
  }
  return result.finally(() => (forcedVariant = previous)) as T;
}

/** Fastest of three timed runs after a warm-up, in ms of GPU time. */
async function bestTime(variant: ConvVariant, record: () => Tensor): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 4; i++) {
    const ms = await runtime().time(() => withConvVariant(variant, record).dispose());
    if (i > 0) best = Math.min(best, ms);
  }
  return best;
}

/** run(input with rows padded to `padded.W`), cropped back to rows of the input's width:
 *  a role (forward or grad-input) on padded rows, `channels` planes per image out. */
function onRows(
  op: string,
  input: Tensor,
  padded: ConvGeometry,
  channels: number,
  run: (input: Tensor) => Tensor,
): Tensor {
  const [N, , H, W] = input.shape;
  const inputPadded = padLast(op, input, padded.W);
  const out = run(inputPadded);
  inputPadded.dispose();
  return cropLast(op, out, W, [N, channels, H, W]);
}

/** Forward kernel only: y = conv(x, w) + bias, no graph. */
export function convForward(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry, op = 'conv2d'): Tensor {
  if (onMatmul('forward', g, bias !== null)) return pointwiseForward(x, weight, g);
  const padded = onPaddedRows('forward', g);
  if (padded)
    return onRows(op, x, padded, g.C_out, (xp) =>
      withConvVariant('subgroup', () => convForward(xp, weight, bias, padded, op)),
    );
  const y = empty([g.N, g.C_out, g.H_out, g.W_out]);
  const packed = packWeights(weight, g, false, op);
  const sg = subgroupPlan('forward', g);
  if (sg) {
    subgroupConv(x, packed, bias, y, g, sg, false, op);
    packed.dispose();
    return y;
  }
  const PX = pixelsPerInvocation(g.W_out, (px) => (px - 1) * g.stride[1] + (g.kW - 1) * g.dilation[1] + 1);
  runtime().dispatch({
    kernel: 'conv2d',
    entry: 'forward',
    constants: { ...shapeConstants(g), PX, HAS_BIAS: Number(bias !== null), ...alignedWindow(g, g.W, PX) },
    buffers: [
      x.buffer(op, 'input'),
      packed.buffer(op, 'weight'),
      (bias ?? packed).buffer(op, 'bias'),
      y.buffer(op, 'out'),
    ],
    params: convParams(g),
    workgroups: [Math.ceil((Math.ceil(g.W_out / PX) * g.H_out * g.N) / WG), g.groups * blocks(g.C_out / g.groups)],
  });
  packed.dispose();
  return y;
}

export function convGradInput(dy: Tensor, weight: Tensor, g: ConvGeometry): Tensor {
  const op = 'conv2d backward';
  const padded = onPaddedRows('grad_input', g);
  if (padded)
    return onRows(op, dy, padded, g.C_in, (dyp) =>
      withConvVariant('subgroup', () => convGradInput(dyp, weight, padded)),
    );
  if (onMatmul('grad_input', g)) {
    const packed = packWeights(weight, g, false, op);
    const dx = pointwiseGradInput(dy, packed, g);
    packed.dispose();
    return dx;
  }
  const dx = empty([g.N, g.C_in, g.H, g.W]);
  const packed = packWeights(weight, g, true, op);
  const sg = subgroupPlan('grad_input', g);
  if (sg) {
    subgroupConv(dy, packed, null, dx, g, sg, true, op);
    packed.dispose();
    return dx;
  }
  const s = g.stride[1];
  // Stride 1: a window of PX + kW - 1 columns, PX chosen to pad the row least. Stride s
  // dividing 8: 8 pixels whose taps read a window of about 8 / s columns (measured on
  // lavapipe: 30% faster than the unwindowed kernel at its best PX, whatever the padding).
  const strideWindow = Math.ceil((8 + (g.kW - 1) * g.dilation[1]) / s) + 1;
  const PX =
    s > 1 && 8 % s === 0 && strideWindow <= WIN_MAX
      ? 8
      : pixelsPerInvocation(g.W, (px) => (s === 1 ? px + (g.kW - 1) * g.dilation[1] : 0));
  runtime().dispatch({
    kernel: 'conv2d',
    entry: 'grad_input',
    constants: {
      ...shapeConstants(g),
      PX,
      ...alignedWindow(g, g.W_out, PX),
      ...(s > 1 ? { PAD_W: g.padding[1] } : {}),
    },
    buffers: [dy.buffer(op, 'grad'), packed.buffer(op, 'weight'), dx.buffer(op, 'grad_input')],
    params: convParams(g),
    workgroups: [Math.ceil((Math.ceil(g.W / PX) * g.H * g.N) / WG), g.groups * blocks(g.C_in / g.groups)],
  });
  packed.dispose();
  return dx;
}

/** The N*H_out rows are split into chunks, one partial sum each, enough to fill the device. */
function chunking(
  g: ConvGeometry,
  workgroupsPerChunk: number,
  weightSize: number,
): { chunks: number; rowsPerChunk: number } {
  const rows = g.N * g.H_out;
  const wanted = Math.max(Math.ceil(64 / workgroupsPerChunk), Math.ceil(rows / 32));
  const allowed = Math.min(rows, Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / weightSize)));
  const rowsPerChunk = Math.ceil(rows / Math.max(1, Math.min(wanted, allowed)));
  return { chunks: Math.ceil(rows / rowsPerChunk), rowsPerChunk };
}

export function convGradWeight(x: Tensor, dy: Tensor, weightShape: Shape, g: ConvGeometry): Tensor {
  const cols = (g.C_in / g.groups) * g.kH * g.kW;
  const weightSize = g.C_out * cols;
  const padded = onPaddedRows('grad_weight', g);
  if (padded) {
    const [xp, dyp] = [padLast('conv2d backward', x, padded.W), padLast('conv2d backward', dy, padded.W)];
    const dw = withConvVariant('subgroup', () => convGradWeight(xp, dyp, weightShape, padded));
    xp.dispose();
    dyp.dispose();
    return dw;
  }
  const sg = subgroupPlan('grad_weight', g);
  const partial = onMatmul('grad_weight', g)
    ? pointwiseGradWeight(x, dy, g, MAX_PARTIAL_FLOATS)
    : sg
      ? subgroupGradWeight(x, dy, g, sg, weightSize, MAX_PARTIAL_FLOATS)
      : portableGradWeight(x, dy, g, cols, weightSize);
  const summed = reduceKernel('conv2d backward', partial, [0], 1);
  partial.dispose();
  const dw = summed.view(weightShape);
  summed.dispose();
  return dw;
}

function portableGradWeight(x: Tensor, dy: Tensor, g: ConvGeometry, cols: number, weightSize: number): Tensor {
  const items = blocks(cols) * blocks(g.C_out / g.groups) * g.groups;
  const { chunks, rowsPerChunk } = chunking(g, Math.ceil(items / WG), weightSize);
  const partial = empty([chunks, weightSize]);
  runtime().dispatch({
    kernel: 'conv2d',
    entry: 'grad_weight',
    constants: shapeConstants(g),
    buffers: [
      x.buffer('conv2d backward', 'input'),
      dy.buffer('conv2d backward', 'grad'),
      partial.buffer('conv2d backward', 'partial'),
    ],
    params: convParams(g, rowsPerChunk),
    workgroups: [Math.ceil(items / WG), 1, chunks],
  });
  return partial;
}

/**
 * conv2d(x, weight, bias?, { stride, padding, dilation, groups }), like
 * torch.nn.functional.conv2d: x [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW],
 * bias [C_out] or null.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  expectTensor('conv2d', 'input', x);
  expectTensor('conv2d', 'weight', weight);
  if (bias !== null && !(bias instanceof Tensor)) {
    // conv2d(x, w, { padding }) from plain JavaScript: the options are the fourth argument.
    throw new ArgumentError(
      'conv2d',
      'bias',
      `must be a Tensor or null, got ${typeof bias}; options go in the fourth argument: conv2d(x, weight, null, { padding })`,
    );
  }
  const g = convGeometry(x.shape, weight.shape, options);
  if (bias !== null) {
    expectTensor('conv2d', 'bias', bias);
    if (bias.rank !== 1 || bias.shape[0] !== g.C_out)
      throw new ShapeError('conv2d', 'bias', `has shape ${fmtShape(bias.shape)}, expected [${g.C_out}]`);
  }
  if (g.kH * g.kW === 1 && g.padding.every((p) => p === 0) && g.stride.some((s) => s > 1)) {
    // A strided 1x1 convolution reads every stride-th pixel only: slice those out and run a
    // stride-1 one, which the faster kernels take (the slice's backward scatters dx back).
    return conv2d(stridedSlice(x, [1, 1, ...g.stride]), weight, bias, { groups: g.groups });
  }
  if (traced)
    noteUse(g, [
      'forward',
      ...(x.requiresGrad ? ['grad_input' as const] : []),
      ...(weight.requiresGrad ? ['grad_weight' as const] : []),
    ]);
  const y = convForward(x, weight, bias, g);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, 'conv2d', inputs, (dy) => [
    x.requiresGrad ? convGradInput(dy, weight, g) : null,
    weight.requiresGrad ? convGradWeight(x, dy, weight.shape, g) : null,
    bias?.requiresGrad ? biasGrad(dy, g) : null,
  ]);
}

function biasGrad(dy: Tensor, g: ConvGeometry): Tensor {
  const summed = reduceKernel('conv2d backward', dy, [0, 2, 3], 1);
  const db = summed.view([g.C_out]);
  summed.dispose();
  return db;
}
