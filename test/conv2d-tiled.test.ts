// The 'tiled' conv variant (kernels/conv2d_tiled.wgsl, src/ops/conv2d/tiled.ts): every
// role forced onto it and checked against the float64 reference, with a check that its
// kernels are the ones that ran (a forced variant that silently fell back could not fail).
import { describe, expect, it } from 'vitest';
import { conv2d, runtime } from '../src/index.js';
import { conv2d as refConv, type ConvSpec } from '../src/reference/index.js';
import { convGeometry, withConvVariant } from '../src/ops/conv2d/index.js';
import { BLOCK, gradWeightGemm, tileShape } from '../src/ops/conv2d/tiled.js';
import { MAX_PARTIAL_FLOATS, weightSize } from '../src/ops/conv2d/variant.js';
import { checkCase, count, describeCase, randomCase, type Case } from './conv-cases.js';
import { gradcheck, randomData, rngFor } from './helpers.js';

const TILED_ENTRIES = ['conv2d_tiled:forward', 'conv2d_tiled:grad_input', 'conv2d_tiled:grad_weight'];

/** Runs `c` forward and backward on the tiled variant; fails unless all three of its
 *  entries ran and no other conv kernel did. */
async function checkTiled(c: Case, label: string, rng = rngFor(label)): Promise<void> {
  runtime().startProfile();
  await withConvVariant('tiled', () => checkCase(c, rng, label));
  const ran = (await runtime().stopProfile()).map((r) => r.kernel);
  expect(ran, `${label}: ${describeCase(c)}`).toEqual(expect.arrayContaining(TILED_ENTRIES));
  expect(
    ran.filter((k) => k.startsWith('conv2d') && !k.startsWith('conv2d_tiled:')),
    `${label}: no other conv kernel`,
  ).toEqual([]);
}

const GRAD_WEIGHT_STEPS = 'grad-weight chunks of several depth steps';

const spec = (partial: Partial<ConvSpec>): ConvSpec => ({
  stride: [1, 1],
  padding: [0, 0],
  dilation: [1, 1],
  groups: 1,
  ...partial,
});

/** The first takes more than one tile along every GEMM dimension of every role (rows over
 *  64 channels a group, columns over 64, depth over 16); then several tiles per group in a
 *  grid of groups, grad-weight chunks of several depth steps (and a partial last one), and
 *  the geometries that stress the im2col and the gather. */
const FIXED_CASES: Case[] = [
  {
    kind: 'several tiles in every dimension',
    xShape: [2, 72, 6, 7],
    wShape: [72, 72, 3, 3],
    spec: spec({ padding: [1, 1] }),
    bias: true,
  },
  {
    kind: 'several tiles per group, three groups',
    xShape: [1, 3 * 68, 5, 9],
    wShape: [3 * 70, 68, 1, 3],
    spec: spec({ padding: [0, 1], groups: 3 }),
    bias: false,
  },
  {
    kind: GRAD_WEIGHT_STEPS,
    xShape: [3, 64, 11, 11],
    wShape: [64, 1, 3, 3],
    spec: spec({ padding: [1, 1], groups: 64 }),
    bias: false,
  },
  {
    kind: '5x5, stride 3, dilation 2, odd sizes',
    xShape: [3, 6, 13, 11],
    wShape: [10, 3, 5, 5],
    spec: spec({ stride: [3, 3], padding: [2, 1], dilation: [2, 2], groups: 2 }),
    bias: true,
  },
  {
    kind: 'depthwise 3x3 stride 2, cardinality 32',
    xShape: [2, 32, 9, 9],
    wShape: [32, 1, 3, 3],
    spec: spec({ stride: [2, 2], padding: [1, 1], groups: 32 }),
    bias: false,
  },
  {
    kind: 'non-square kernel, unequal strides and dilations',
    xShape: [2, 4, 10, 7],
    wShape: [6, 4, 2, 3],
    spec: spec({ stride: [2, 3], padding: [1, 2], dilation: [3, 1] }),
    bias: true,
  },
  {
    kind: 'strided 1x1 with padding (no slicing)',
    xShape: [1, 8, 7, 8],
    wShape: [12, 4, 1, 1],
    spec: spec({ stride: [2, 2], padding: [1, 1], groups: 2 }),
    bias: false,
  },
];

describe('the tiled conv variant matches the CPU reference', () => {
  it('forward, grad-input, grad-weight and grad-bias over 40 random configurations', { timeout: 300_000 }, async () => {
    const rng = rngFor('conv2d tiled random');
    for (let i = 0; i < 40; i++) await checkTiled(randomCase(rng, i), `tiled case ${i}`, rng);
  });

  it.each(FIXED_CASES.map((c) => [c.kind, c] as const))('%s', { timeout: 120_000 }, async (kind, c) => {
    await checkTiled(c, kind);
  });

  it('passes gradcheck on a grouped, strided, dilated case', async () => {
    const s = spec({ stride: [2, 1], padding: [2, 1], dilation: [2, 1], groups: 2 });
    const [xShape, wShape] = [
      [1, 4, 6, 5],
      [6, 2, 3, 2],
    ];
    const rng = rngFor('conv2d tiled gradcheck');
    runtime().startProfile();
    await withConvVariant('tiled', () =>
      gradcheck(
        {
          name: 'tiled conv2d',
          inputs: [
            { data: randomData(rng, count(xShape)), shape: xShape },
            { data: randomData(rng, count(wShape)), shape: wShape },
            { data: randomData(rng, wShape[0]), shape: [wShape[0]] },
          ],
          gpu: (x, w, b) => conv2d(x, w, b, s),
          reference: (x, w, b) => refConv(x, w, b, s),
        },
        rng,
      ),
    );
    const ran = (await runtime().stopProfile()).map((r) => r.kernel);
    expect(ran).toEqual(expect.arrayContaining(TILED_ENTRIES));
  });
});

describe('the tiled variant plans within the default limits', () => {
  it('every tile shape fits 256 invocations and 16 KiB of workgroup memory, in whole blocks', () => {
    for (const rows of [1, 3, 4, 5, 17, 64, 65, 1000])
      for (const cols of [1, 9, 16, 100, 4096, 1 << 20]) {
        const { BM, BN, BK } = tileShape(rows, cols);
        expect((BM / BLOCK) * (BN / BLOCK), `${rows}x${cols}`).toBeLessThanOrEqual(256);
        expect(BK * (BM + BN) * 4, `${rows}x${cols}`).toBeLessThanOrEqual(16384);
        expect([BM % BLOCK, BN % BLOCK], `${rows}x${cols}`).toEqual([0, 0]);
      }
  });

  it("grad-weight's chunks cover the depth in whole steps, within the partial-sum cap", () => {
    const geometries = [
      convGeometry([256, 128, 56, 56], [128, 4, 3, 3], { padding: 1, groups: 32 }),
      convGeometry([64, 2048, 7, 7], [2048, 2048, 1, 1]),
      convGeometry([2, 3, 5, 5], [4, 3, 3, 3]),
    ];
    for (const g of geometries) {
      const gemm = gradWeightGemm(g);
      const { BK } = tileShape(gemm.rows, gemm.cols);
      expect(gemm.depthPerChunk % BK).toBe(0);
      expect(gemm.chunks * gemm.depthPerChunk).toBeGreaterThanOrEqual(gemm.depth);
      expect((gemm.chunks - 1) * gemm.depthPerChunk).toBeLessThan(gemm.depth);
      expect(gemm.chunks * weightSize(g)).toBeLessThanOrEqual(Math.max(MAX_PARTIAL_FLOATS, weightSize(g)));
    }
    // The case above that sums several depth steps per chunk, and a partial last chunk, does.
    const c = FIXED_CASES.find((f) => f.kind === GRAD_WEIGHT_STEPS)!;
    const gemm = gradWeightGemm(convGeometry(c.xShape, c.wShape, c.spec));
    expect(gemm.depthPerChunk).toBeGreaterThan(tileShape(gemm.rows, gemm.cols).BK);
    expect(gemm.depth % gemm.depthPerChunk).not.toBe(0);
  });
});
