// Random conv2d configurations and the check of one against the CPU reference; shared by
// the conv2d tests and the mutation tests that prove the check can fail.
import { conv2d, tensor, type Generator } from '../src/index.js';
import {
  conv2d as refConv,
  conv2dGradInput,
  conv2dGradWeight,
  nd,
  reduce,
  type ConvSpec,
  type NDArray,
} from '../src/reference/index.js';
import { assertClose, assertShape, randomData, SEED } from './helpers.js';

export interface Case {
  kind: string;
  xShape: number[];
  wShape: number[];
  spec: ConvSpec;
  bias: boolean;
}

/** [kH, kW, stride_h, stride_w, dilation_h, dilation_w] */
const KERNEL_GEOMETRIES = [
  [3, 3, 1, 1, 1, 1],
  [3, 3, 2, 2, 1, 1],
  [1, 1, 1, 1, 1, 1],
  [1, 1, 2, 2, 1, 1],
  [5, 5, 1, 1, 1, 1],
  [2, 3, 1, 2, 1, 1],
  [3, 1, 3, 1, 1, 1],
  [3, 3, 1, 1, 2, 2],
  [1, 3, 2, 3, 1, 2],
  [7, 7, 2, 2, 1, 1],
] as const;

export const KINDS = ['dense', 'grouped', 'depthwise', 'multiplier', 'cardinality32'] as const;

/** A random valid configuration; `kind` cycles so that every case is covered in every run. */
export function randomCase(rng: Generator, index: number): Case {
  const kind = KINDS[index % KINDS.length];
  const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)];
  let groups: number, cig: number, cog: number;
  if (kind === 'dense') [groups, cig, cog] = [1, 1 + rng.int(6), 1 + rng.int(6)];
  else if (kind === 'grouped') [groups, cig, cog] = [pick([2, 4, 8]), 1 + rng.int(5), 1 + rng.int(6)];
  else if (kind === 'depthwise') [groups, cig, cog] = [pick([1, 3, 8, 13]), 1, 1];
  else if (kind === 'multiplier') [groups, cig, cog] = [pick([2, 3, 8]), 1, pick([2, 3, 4])];
  else [groups, cig, cog] = [32, pick([1, 2, 4]), pick([1, 2, 4])];
  // Kernel size, stride and dilation specialise the kernels (one pipeline each), so they
  // come from a fixed pool that covers square and non-square kernels, strides and dilation.
  const [kH, kW, sH, sW, dH, dW] = pick(KERNEL_GEOMETRIES);
  const stride: [number, number] = [sH, sW];
  const dilation: [number, number] = [dH, dW];
  const padding: [number, number] = [rng.int(3), rng.int(3)];
  // Spatial sizes down to 1 (outputs of size 1 included), odd ones common.
  const minH = Math.max(1, dilation[0] * (kH - 1) + 1 - 2 * padding[0]);
  const minW = Math.max(1, dilation[1] * (kW - 1) + 1 - 2 * padding[1]);
  const H = minH + rng.int(rng.random() < 0.2 ? 2 : 9);
  const W = minW + rng.int(rng.random() < 0.2 ? 2 : 9);
  const N = 1 + rng.int(3);
  return {
    kind,
    xShape: [N, groups * cig, H, W],
    wShape: [groups * cog, cig, kH, kW],
    spec: { stride, padding, dilation, groups },
    bias: rng.random() < 0.5,
  };
}

// 'Same' convolutions (stride 1, output the size of the input), which the subgroup kernels
// take: planes of whole vec4s with rows of whole vec4s (16), of half a vec4 (14, 10, 6) and
// narrower than one (2), planes that are not whole vec4s (7x7, 5x3); planes that fill the
// subgroup's lanes or leave some idle; 1x1 and 3x3; output channels per group below, at
// and above 4 and 8 (one or two blocks per invocation, a partial block); input channels
// per group of 1, odd, and more than a grad-weight tile; more pixels than one subgroup sums.
// An unaligned plane's edge lanes (0 and SG - 1) read values their neighbours do not hold
// only where a subgroup starts or ends inside the plane, away from column 0: planes longer
// than one subgroup's 4 * SG pixels, for every SG from 4 to 128 (23x23: 529 pixels).
export const SAME_CASES: Case[] = [
  { kind: 'cardinality', xShape: [2, 8, 4, 16], wShape: [8, 4, 3, 3], spec: same(3, 2), bias: true },
  {
    // 315 (image, step) items at subgroups of 8 (630 at 4, 161 at 16): a subgroup sums up
    // to 128 (GRAD_WEIGHT_ITEMS) or a little more, shared out evenly, so several do (3, 5
    // and 2: 161 as 81 and 80).
    kind: 'several subgroups per grad-weight tile',
    xShape: [7, 4, 40, 36],
    wShape: [4, 2, 3, 3],
    spec: same(3, 2),
    bias: false,
  },
  { kind: 'odd channels', xShape: [3, 6, 2, 14], wShape: [10, 3, 3, 3], spec: same(3, 2), bias: false },
  { kind: 'two blocks', xShape: [1, 16, 6, 10], wShape: [32, 8, 3, 3], spec: same(3, 2), bias: true },
  { kind: 'narrow rows', xShape: [2, 5, 6, 2], wShape: [12, 5, 3, 3], spec: same(3, 1), bias: false },
  { kind: 'depthwise', xShape: [1, 3, 8, 6], wShape: [3, 1, 3, 3], spec: same(3, 3), bias: true },
  { kind: 'pointwise', xShape: [2, 12, 3, 4], wShape: [20, 12, 1, 1], spec: same(1, 1), bias: true },
  { kind: 'pointwise grouped', xShape: [3, 36, 2, 6], wShape: [20, 9, 1, 1], spec: same(1, 4), bias: false },
  {
    kind: 'two output rows per invocation, odd height',
    xShape: [2, 8, 5, 8],
    wShape: [12, 2, 3, 3],
    spec: same(3, 4),
    bias: true,
  },
  {
    // Rows of 16 two (subgroups of 8) or four (16) to a subgroup, a plane three subgroups
    // long at 16: rows above and below come from the lanes, or across subgroups by a load.
    kind: 'whole rows, several subgroups a plane',
    xShape: [1, 8, 9, 16],
    wShape: [8, 4, 3, 3],
    spec: same(3, 2),
    bias: false,
  },
  { kind: 'unaligned planes', xShape: [2, 16, 7, 7], wShape: [16, 4, 3, 3], spec: same(3, 4), bias: true },
  { kind: 'unaligned pointwise', xShape: [3, 8, 5, 3], wShape: [12, 8, 1, 1], spec: same(1, 1), bias: false },
  {
    kind: 'unaligned planes several subgroups long',
    xShape: [1, 4, 23, 23],
    wShape: [4, 2, 3, 3],
    spec: same(3, 2),
    bias: false,
  },
];

/** 1x1 convolutions the 'matmul' variant takes: partial row and column tiles, images
 *  summed in uneven chunks (grad-weight), a bias (its forward stays on conv2d_subgroup),
 *  and planes that are not whole vec4s. */
export const POINTWISE_CASES: Case[] = [
  { kind: 'pointwise as products', xShape: [2, 12, 3, 4], wShape: [20, 12, 1, 1], spec: same(1, 1), bias: false },
  // 41 images: grad-weight sums them in uneven chunks, of at least 2 images but the last, at any subgroup size from 4 to 128.
  {
    kind: 'pointwise as products, grad-weight over uneven chunks of images',
    xShape: [41, 128, 2, 2],
    wShape: [128, 128, 1, 1],
    spec: same(1, 1),
    bias: false,
  },
  {
    kind: 'pointwise as products, with bias',
    xShape: [2, 8, 2, 6],
    wShape: [12, 8, 1, 1],
    spec: same(1, 1),
    bias: true,
  },
  {
    kind: 'pointwise as products, planes padded to whole vec4s',
    xShape: [3, 8, 5, 3],
    wShape: [12, 8, 1, 1],
    spec: same(1, 1),
    bias: false,
  },
  {
    kind: 'pointwise as products, 7x7 planes',
    xShape: [5, 16, 7, 7],
    wShape: [20, 16, 1, 1],
    spec: same(1, 1),
    bias: false,
  },
];

/** Grad-weight as products of the unrolled input (the 'im2col' variant): a group's weights
 *  per output channel are whole vec4s; strides, dilation, 1x1, 5x5 and non-square
 *  kernels, output planes that are not whole vec4s (padded), one image and several. */
export const IM2COL_CASES: Case[] = [
  { kind: 'im2col, padded plane', xShape: [2, 8, 5, 7], wShape: [8, 4, 3, 3], spec: same(3, 2), bias: false },
  {
    kind: 'im2col, stride 2',
    xShape: [3, 8, 9, 9],
    wShape: [12, 4, 3, 3],
    spec: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 2 },
    bias: true,
  },
  {
    kind: 'im2col, dilation 2',
    xShape: [2, 4, 8, 8],
    wShape: [4, 4, 3, 3],
    spec: { stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 1 },
    bias: false,
  },
  { kind: 'im2col, grouped 1x1', xShape: [2, 16, 3, 5], wShape: [8, 4, 1, 1], spec: same(1, 4), bias: false },
  { kind: 'im2col, 5x5, one image', xShape: [1, 8, 6, 6], wShape: [6, 4, 5, 5], spec: same(5, 2), bias: false },
  {
    kind: 'im2col, 3x1 kernel, unequal strides',
    xShape: [2, 4, 7, 5],
    wShape: [4, 4, 3, 1],
    spec: { stride: [1, 2], padding: [1, 0], dilation: [1, 1], groups: 1 },
    bias: false,
  },
];

/** Downsampling 3x3s (stride 2, padding 1), which the 'wgrad-lanes' grad-weight also takes:
 *  odd and even sizes (the last input row or column unread, or read by one tap only), rows
 *  padded to 8 input columns, one output row, groups of 1 to 12 input channels. */
export const DOWNSAMPLING_CASES: Case[] = [
  { kind: 'downsampling, odd planes', xShape: [2, 8, 7, 9], wShape: [8, 4, 3, 3], spec: down(2), bias: false },
  { kind: 'downsampling, even planes', xShape: [3, 24, 8, 12], wShape: [16, 12, 3, 3], spec: down(2), bias: true },
  { kind: 'downsampling, one output row', xShape: [2, 3, 2, 5], wShape: [6, 1, 3, 3], spec: down(3), bias: false },
  // 7 output rows of 3 vec4s: subgroups of 4 to 16 lanes start mid-row.
  { kind: 'downsampling, wide rows', xShape: [1, 16, 13, 23], wShape: [8, 8, 3, 3], spec: down(2), bias: false },
];

function down(groups: number): ConvSpec {
  return { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups };
}

function same(k: number, groups: number): ConvSpec {
  const pad = (k - 1) / 2;
  return { stride: [1, 1], padding: [pad, pad], dilation: [1, 1], groups };
}

export const describeCase = (c: Case) =>
  `${c.kind} x=${JSON.stringify(c.xShape)} w=${JSON.stringify(c.wShape)} stride=${c.spec.stride.join(',')} pad=${c.spec.padding.join(',')} dil=${c.spec.dilation.join(',')} groups=${c.spec.groups} bias=${c.bias}`;
export const abs = (a: NDArray): NDArray => ({ data: a.data.map(Math.abs), shape: a.shape });
export const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs forward and backward of one case on the GPU and compares all four results; returns tags of what it covered. */
export async function checkCase(c: Case, rng: Generator, label: string): Promise<string[]> {
  const seen: string[] = [];
  const what = `${label} (seed ${SEED}): ${describeCase(c)}`;
  const xd = randomData(rng, count(c.xShape));
  const wd = randomData(rng, count(c.wShape));
  const bd = randomData(rng, c.wShape[0]);
  const x = tensor(xd, c.xShape, { requiresGrad: true });
  const w = tensor(wd, c.wShape, { requiresGrad: true });
  const b = c.bias ? tensor(bd, [c.wShape[0]], { requiresGrad: true }) : null;
  const y = conv2d(x, w, b, c.spec);
  const [x64, w64, b64] = [nd(xd, c.xShape), nd(wd, c.wShape), c.bias ? nd(bd, [c.wShape[0]]) : null];
  const expected = refConv(x64, w64, b64, c.spec);
  assertShape(y.shape, expected.shape, what);
  const yScale = refConv(abs(x64), abs(w64), b64 && abs(b64), c.spec).data;
  assertClose(await y.toArray(), expected.data, `forward, ${what}`, { rtol: 1e-5, scale: yScale });
  if (expected.shape[2] === 1 || expected.shape[3] === 1) seen.push('output of size 1');
  if (c.xShape[0] === 1) seen.push('batch 1');
  seen.push(c.kind);

  const dyd = randomData(rng, count(expected.shape));
  const dy64 = nd(dyd, expected.shape);
  y.backward(tensor(dyd, expected.shape));
  assertClose(await x.grad!.toArray(), conv2dGradInput(dy64, w64, c.xShape, c.spec).data, `grad-input, ${what}`, {
    rtol: 1e-5,
    scale: conv2dGradInput(abs(dy64), abs(w64), c.xShape, c.spec).data,
  });
  assertClose(await w.grad!.toArray(), conv2dGradWeight(x64, dy64, c.wShape, c.spec).data, `grad-weight, ${what}`, {
    rtol: 1e-5,
    scale: conv2dGradWeight(abs(x64), abs(dy64), c.wShape, c.spec).data,
  });
  if (b)
    assertClose(await b.grad!.toArray(), reduce.sum(dy64, [0, 2, 3]).data, `grad-bias, ${what}`, {
      rtol: 1e-5,
      scale: reduce.sum(abs(dy64), [0, 2, 3]).data,
    });
  for (const t of [x, w, b, y]) {
    t?.grad?.dispose();
    t?.dispose();
  }
  return seen;
}
