import { describe, expect, it } from 'vitest';
import { ArgumentError, conv2d, randn, runtime, ShapeError, tensor } from '../src/index.js';
import { conv2d as refConv, nd, type ConvSpec } from '../src/reference/index.js';
import { withConvVariant } from '../src/ops/conv2d/index.js';
import { whySubgroupsUnavailable } from '../src/ops/subgroup_plan.js';
import {
  abs,
  checkCase,
  count,
  describeCase,
  KINDS,
  IM2COL_CASES,
  POINTWISE_CASES,
  randomCase,
  SAME_CASES,
  DOWNSAMPLING_CASES,
  type Case,
} from './conv-cases.js';
import { assertClose, gradcheck, randomData, rngFor } from './helpers.js';

describe('conv2d matches the CPU reference', () => {
  it('forward, grad-input, grad-weight and grad-bias over 200 random configurations', async () => {
    const rng = rngFor('conv2d');
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const c = randomCase(rng, i);
      for (const tag of await checkCase(c, rng, `case ${i}`)) seen.add(tag);
    }
    expect([...seen].sort()).toEqual([...KINDS, 'batch 1', 'output of size 1'].sort());
  }, 600_000); // a cold Mesa shader cache compiles ~130 specialised pipelines here

  it('a shape with 7x9 input, stride 2 and groups 4, the ResNeXt block shape 4 groups of 4, and vec4-aligned rows', async () => {
    const rng = rngFor('conv2d fixed');
    const cases: { xShape: number[]; wShape: number[]; spec: ConvSpec }[] = [
      {
        xShape: [2, 8, 7, 9],
        wShape: [12, 2, 3, 3],
        spec: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 4 },
      },
      {
        xShape: [2, 16, 9, 9],
        wShape: [16, 4, 3, 3],
        spec: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 4 },
      },
      // Rows that are whole vec4s: the forward's aligned window path, with padding 1 and 2.
      {
        xShape: [2, 8, 5, 16],
        wShape: [8, 2, 3, 3],
        spec: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 4 },
      },
      {
        xShape: [1, 4, 6, 12],
        wShape: [4, 4, 5, 5],
        spec: { stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1 },
      },
    ];
    for (const c of cases) {
      const xd = randomData(rng, count(c.xShape));
      const wd = randomData(rng, count(c.wShape));
      const y = conv2d(tensor(xd, c.xShape), tensor(wd, c.wShape), null, c.spec);
      const x64 = nd(xd, c.xShape);
      const w64 = nd(wd, c.wShape);
      assertClose(await y.toArray(), refConv(x64, w64, null, c.spec).data, JSON.stringify(c), {
        rtol: 1e-5,
        scale: refConv(abs(x64), abs(w64), null, c.spec).data,
      });
    }
  });
});

describe('the subgroup kernels (kernels/conv2d_subgroup.wgsl) match the reference and the portable kernels', () => {
  const SG = runtime().report.subgroupSize;
  // The forced variants below run only where the adapter's subgroups serve them: elsewhere
  // they are skipped, and the title says why.
  const unavailable = whySubgroupsUnavailable();
  const skipped = unavailable ? ` (skipped: ${unavailable})` : '';
  // Compiles a pipeline set per case: about 25 s with an empty shader cache on two cores.
  it.skipIf(unavailable)(
    `forced onto them (subgroup size ${SG}), forward, grad-input and grad-weight run on them${skipped}`,
    { timeout: 180_000 },
    async () => {
      const rng = rngFor('conv2d subgroup');
      for (const [i, c] of SAME_CASES.entries()) {
        runtime().startProfile();
        await withConvVariant('subgroup', () => checkCase(c, rng, `subgroup case ${i}`));
        const ran = (await runtime().stopProfile()).map((r) => r.kernel);
        // Planes of whole vec4s store through the vec4 entry.
        const forward = (c.xShape[2] * c.xShape[3]) % 4 === 0 ? 'conv2d_subgroup:forward4' : 'conv2d_subgroup:forward';
        expect(ran, describeCase(c)).toEqual(expect.arrayContaining([forward, 'conv2d_subgroup:grad_weight']));
        expect(ran.filter((k) => k.startsWith('conv2d_subgroup:forward')).length, 'forward and grad-input').toBe(1);
      }
    },
  );
  it.skipIf(unavailable)(
    `the forward and grad-input with two output rows per invocation, where rows are whole vec4s${skipped}`,
    async () => {
      const rng = rngFor('conv2d subgroup rows');
      const cases = SAME_CASES.filter((c) => c.xShape[3] % 4 === 0 && c.wShape[2] > 1);
      expect(
        cases.map((c) => c.xShape[2] % 2),
        'an even and an odd height',
      ).toEqual(expect.arrayContaining([0, 1]));
      for (const [i, c] of cases.entries()) {
        runtime().startProfile();
        await withConvVariant('subgroup-rows', () => checkCase(c, rng, `two-row case ${i}`));
        const ran = (await runtime().stopProfile()).map((r) => r.kernel);
        expect(ran, `${describeCase(c)}: the forced variant ran`).toContain('conv2d_subgroup:forward4');
      }
    },
  );
  it.skipIf(unavailable)(`rows padded to whole vec4s (7x7 planes as 7x8), every role${skipped}`, async () => {
    const rng = rngFor('conv2d padded rows');
    const fiveWide: Case = {
      kind: 'rows of 5',
      xShape: [2, 8, 3, 5],
      wShape: [8, 2, 3, 3],
      spec: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 4 },
      bias: false,
    };
    // Rows 2 short of whole vec4s, read in place: odd and even rows, several subgroups per
    // plane (at 16 lanes, the last one's second half outside it), two blocks per group; and
    // with an odd height, planes that are not whole vec4s, copied.
    const fourteenWide = (H: number): Case => ({
      kind: `rows of 14, ${H} of them`,
      xShape: [2, 16, H, 14],
      wShape: [16, 4, 3, 3],
      spec: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 4 },
      bias: true,
    });
    const cases = [...SAME_CASES.filter((c) => c.xShape[3] % 4 !== 0), fiveWide, fourteenWide(10), fourteenWide(9)];
    expect(
      cases.map((c) => c.xShape[3] % 4),
      'widths 1, 2 and 3 past a vec4',
    ).toEqual(expect.arrayContaining([1, 2, 3]));
    const SG = runtime().report.subgroupSize!;
    // Where rows are 2 short of whole vec4s in planes of whole vec4s, and a subgroup spans
    // whole padded rows, the forward and grad-input read x and dy in place (not rows of 10,
    // nor 9 rows of 14); grad-weight still pads both.
    const readInPlace = ([, , H, W]: number[]) => W % 4 === 2 && (H * W) % 4 === 0 && (4 * SG) % (W + 2) === 0;
    expect(cases.filter((c) => readInPlace(c.xShape)).length, 'cases read in place').toBeGreaterThan(1);
    expect(cases.filter((c) => c.xShape[3] % 4 === 2 && !readInPlace(c.xShape)).length, 'and copied').toBe(2);
    for (const [i, c] of cases.entries()) {
      runtime().startProfile();
      await withConvVariant('subgroup-padded', () => checkCase(c, rng, `padded-rows case ${i}`));
      const ran = await runtime().stopProfile();
      const copies = ran.find((r) => r.kernel === 'fill:pad4');
      expect(
        copies?.calls,
        readInPlace(c.xShape)
          ? `${describeCase(c)}: x and dy padded for grad-weight only`
          : `${describeCase(c)}: x padded for the forward and for grad-weight, dy once, shared by grad-input and grad-weight`,
      ).toBe(readInPlace(c.xShape) ? 2 : 3);
      expect(ran.find((r) => r.kernel === 'conv2d_subgroup:forward_cropped')?.calls, 'forward and grad-input').toBe(2);
      // The two-row form, for kernels taller than one row.
      if (c.wShape[2] === 1) continue;
      runtime().startProfile();
      await withConvVariant('subgroup-padded-rows', () => checkCase(c, rng, `padded-rows case ${i}, two rows`));
      const twoRows = (await runtime().stopProfile()).find((r) => r.kernel === 'conv2d_subgroup:forward_cropped');
      expect(twoRows?.calls, `${describeCase(c)}: two rows, forward and grad-input`).toBe(2);
    }
  });
  it.skipIf(unavailable)(`1x1 convolutions as batches of matrix products${skipped}`, async () => {
    const rng = rngFor('conv2d pointwise matmul');
    for (const [i, c] of POINTWISE_CASES.entries()) {
      runtime().startProfile();
      await withConvVariant('matmul', () => checkCase(c, rng, `matmul case ${i}`));
      const products = (await runtime().stopProfile()).find((r) => r.kernel === 'matmul_subgroup:main');
      expect(products?.calls, `${describeCase(c)}: forward (unless it has a bias), grad-input and grad-weight`).toBe(
        c.bias ? 2 : 3,
      );
    }
  });
  it.skipIf(unavailable)(`grad-weight as products of the unrolled input (im2col)${skipped}`, async () => {
    const rng = rngFor('conv2d im2col');
    for (const [i, c] of IM2COL_CASES.entries()) {
      runtime().startProfile();
      await withConvVariant('im2col', () => checkCase(c, rng, `im2col case ${i}`));
      const ran = (await runtime().stopProfile()).map((r) => r.kernel);
      expect(ran, describeCase(c)).toEqual(expect.arrayContaining(['conv2d_im2col:main', 'matmul_subgroup:main']));
    }
  });
  it.skipIf(unavailable)(`grad-weight with the lanes on input channels (wgrad-lanes)${skipped}`, async () => {
    const rng = rngFor('conv2d wgrad lanes');
    // SAME_CASES give it groups of 1 to 12 input channels (fewer than a subgroup: lanes walk
    // several rows at once; not a power of two: a partial tile), output channels below,
    // above and not a multiple of its tile, rows of 1 to 9 vec4s and rows it pads;
    // DOWNSAMPLING_CASES its stride 2.
    for (const [i, c] of [...SAME_CASES, ...DOWNSAMPLING_CASES].entries()) {
      runtime().startProfile();
      await withConvVariant('wgrad-lanes', () => checkCase(c, rng, `wgrad-lanes case ${i}`));
      const ran = (await runtime().stopProfile()).map((r) => r.kernel);
      expect(ran, describeCase(c)).toContain('conv2d_wgrad_lanes:main');
    }
  });
  it.skipIf(unavailable)(`the forward and grad-input of 3x3s of stride 2 (stride2)${skipped}`, async () => {
    const rng = rngFor('conv2d stride2');
    // Odd and even planes, rows padded to whole vec4s, rows of 1 to 3 vec4s (3: subgroups
    // that start and end mid-row at every subgroup size), a bias, partial blocks.
    for (const [i, c] of DOWNSAMPLING_CASES.entries()) {
      runtime().startProfile();
      await withConvVariant('stride2', () => checkCase(c, rng, `stride2 case ${i}`));
      const ran = (await runtime().stopProfile()).map((r) => r.kernel);
      // dx's rows of whole vec4s store through the vec4 entry.
      const gradInput = c.xShape[3] % 4 === 0 ? 'conv2d_stride2:grad_input4' : 'conv2d_stride2:grad_input';
      expect(ran, describeCase(c)).toEqual(expect.arrayContaining(['conv2d_stride2:main', gradInput]));
    }
  });
  it('with the subgroup kernels turned off, the portable kernels give the same answers', async () => {
    const rng = rngFor('conv2d portable');
    const before = runtime().portableKernels;
    runtime().portableKernels = true;
    try {
      for (const [i, c] of SAME_CASES.entries()) {
        runtime().startProfile();
        await checkCase(c, rng, `portable case ${i}`);
        expect(
          (await runtime().stopProfile()).some((r) => r.kernel.includes('_subgroup')),
          describeCase(c),
        ).toBe(false);
      }
    } finally {
      runtime().portableKernels = before;
    }
  });
});

describe('the API as the README shows it', () => {
  it('tensor, randn, conv2d, mul, sum, backward, grad.toArray', async () => {
    const x = tensor(new Float32Array(2 * 8 * 5 * 5).fill(0.5), [2, 8, 5, 5], { requiresGrad: true });
    const w = randn([8, 2, 3, 3], { std: 0.1, requiresGrad: true });
    const y = conv2d(x, w, null, { stride: 1, padding: 1, groups: 4 });
    const gy = randn([...y.shape]);
    y.mul(gy).sum().backward();
    const gx: Float32Array = await x.grad!.toArray();
    expect(gx.length).toBe(2 * 8 * 5 * 5);
    expect(gx.some((v) => v !== 0)).toBe(true);
  });
});

describe('conv2d backward passes gradcheck', () => {
  const cases: [string, number[], number[], Partial<ConvSpec> & { groups: number }][] = [
    ['grouped 3x3 pad 1', [1, 4, 5, 5], [4, 2, 3, 3], { groups: 2, padding: [1, 1] }],
    ['stride 2, non-square kernel', [2, 2, 5, 6], [3, 2, 2, 3], { groups: 1, stride: [2, 2] }],
    ['depthwise, dilation 2', [1, 3, 6, 6], [3, 1, 3, 3], { groups: 3, dilation: [2, 2], padding: [2, 2] }],
    ['channel multiplier', [1, 2, 4, 4], [6, 1, 3, 3], { groups: 2, padding: [1, 1], stride: [2, 1] }],
  ];
  for (const [name, xShape, wShape, partial] of cases) {
    it(name, async () => {
      const spec: ConvSpec = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], ...partial };
      const rng = rngFor(`grad conv ${name}`);
      await gradcheck(
        {
          name,
          inputs: [
            { data: randomData(rng, count(xShape)), shape: xShape },
            { data: randomData(rng, count(wShape)), shape: wShape },
            { data: randomData(rng, wShape[0]), shape: [wShape[0]] },
          ],
          gpu: (x, w, b) => conv2d(x, w, b, spec),
          reference: (x, w, b) => refConv(x, w, b, spec),
        },
        rng,
      );
    });
  }
});

describe('conv2d rejects bad arguments before any GPU work', () => {
  const x = tensor(new Float32Array(2 * 8 * 5 * 5), [2, 8, 5, 5]);
  const cases: [string, () => unknown, typeof ShapeError | typeof ArgumentError, RegExp][] = [
    [
      'groups that do not divide the channels',
      () => conv2d(x, tensor(new Float32Array(8 * 3 * 9), [8, 3, 3, 3]), null, { groups: 3 }),
      ArgumentError,
      /^conv2d: argument 'groups' 3 does not divide the input's 8 channels \(input \[2, 8, 5, 5\]\)/,
    ],
    [
      'a weight that does not match',
      () => conv2d(x, tensor(new Float32Array(8 * 4 * 9), [8, 4, 3, 3]), null, { groups: 4 }),
      ShapeError,
      /^conv2d: argument 'weight' has shape \[8, 4, 3, 3\]: expected \[8, 2, kH, kW\] for input \[2, 8, 5, 5\] with groups=4/,
    ],
    [
      'a kernel larger than the padded input',
      () => conv2d(x, tensor(new Float32Array(8 * 8 * 49), [8, 8, 7, 7]), null, { padding: 0 }),
      ShapeError,
      /kernel 7x7 .* is larger than the padded input 5x5/,
    ],
    [
      'a non-positive stride',
      () => conv2d(x, tensor(new Float32Array(8 * 8 * 9), [8, 8, 3, 3]), null, { stride: 0 }),
      ArgumentError,
      /^conv2d: argument 'stride' must be an integer >= 1/,
    ],
    [
      'a 3-D input',
      () => conv2d(tensor(new Float32Array(8), [2, 2, 2]), tensor(new Float32Array(8), [2, 1, 2, 2])),
      ShapeError,
      /^conv2d: argument 'input' must be 4-D \[N, C_in, H, W\], got \[2, 2, 2\]/,
    ],
    [
      'a bias of the wrong size',
      () => conv2d(x, tensor(new Float32Array(8 * 8 * 9), [8, 8, 3, 3]), tensor([1, 2])),
      ShapeError,
      /^conv2d: argument 'bias' has shape \[2\], expected \[8\]/,
    ],
  ];
  for (const [name, call, type, message] of cases) {
    it(name, () => {
      const before = runtime().stats().dispatches;
      expect(call).toThrow(type);
      expect(call).toThrow(message);
      expect(runtime().stats().dispatches).toBe(before);
    });
  }
});
