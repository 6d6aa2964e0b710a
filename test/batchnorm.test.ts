import { describe, expect, it } from 'vitest';
import { ArgumentError, batchNorm, ShapeError, tensor } from '../src/index.js';
import { batchNorm as refBatchNorm, batchNormBackward, nd, updatedRunningStats } from '../src/reference/index.js';
import { checkResidualCase, checkTrainingCase, SEGMENT_SHAPES } from './batchnorm-cases.js';
import { assertClose, expectMatches, gradcheck, randomData, randomDim, rngFor } from './helpers.js';

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('batchNorm matches the reference', () => {
  it('training and eval, with and without the fused ReLU, over 24 random shapes', async () => {
    const rng = rngFor('bn');
    for (let trial = 0; trial < 24; trial++) {
      const shape = [randomDim(rng, 4), randomDim(rng, 6), randomDim(rng, 9), randomDim(rng, 9)];
      if (count(shape) / shape[1] < 2) shape[0] = 2;
      const C = shape[1];
      const training = trial % 2 === 0;
      const relu = trial % 4 >= 2;
      const [xd, wd, bd, md] = [
        randomData(rng, count(shape), { lo: -2, hi: 3 }),
        randomData(rng, C),
        randomData(rng, C),
        randomData(rng, C),
      ];
      const vd = randomData(rng, C, { lo: 0.5, hi: 2 });
      const rm = tensor(md, [C]);
      const rv = tensor(vd, [C]);
      const y = batchNorm(tensor(xd, shape), rm, rv, tensor(wd, [C]), tensor(bd, [C]), { training, relu });
      const what = `bn ${JSON.stringify(shape)} training=${training} relu=${relu}`;
      await expectMatches(
        y,
        refBatchNorm(nd(xd, shape), nd(md, [C]), nd(vd, [C]), nd(wd, [C]), nd(bd, [C]), {
          training,
          relu,
          eps: 1e-5,
          momentum: 0.1,
        }),
        what,
        { rtol: 1e-4, atol: 1e-4 },
      );
      const expected = training
        ? updatedRunningStats(nd(xd, shape), nd(md, [C]), nd(vd, [C]), 0.1)
        : { mean: [...md], variance: [...vd] };
      assertClose(await rm.toArray(), expected.mean, `${what}: running_mean`, { rtol: 1e-5, atol: 1e-6 });
      assertClose(await rv.toArray(), expected.variance, `${what}: running_var`, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it('batch statistics stay accurate for a channel far from zero with a small spread (1000 +- 0.01)', async () => {
    const rng = rngFor('bn offset');
    const shape = [4, 3, 6, 6];
    const xd = randomData(rng, count(shape), { lo: 999.99, hi: 1000.01 });
    const rm = tensor(new Float32Array(3), [3]);
    const rv = tensor(new Float32Array(3).fill(1), [3]);
    const ones = new Float32Array(3).fill(1);
    const y = batchNorm(tensor(xd, shape), rm, rv, tensor(ones, [3]), tensor(new Float32Array(3), [3]), {
      training: true,
    });
    const expected = refBatchNorm(
      nd(xd, shape),
      nd(new Float32Array(3), [3]),
      nd(ones, [3]),
      nd(ones, [3]),
      nd(new Float32Array(3), [3]),
      { training: true, relu: false, eps: 1e-5, momentum: 0.1 },
    );
    // The inputs themselves are float32 (about 6e-5 apart here): normalised values can only be that good.
    await expectMatches(y, expected, 'bn of 1000 +- 0.01', { rtol: 2e-2, atol: 2e-2 });
    assertClose(
      await rv.toArray(),
      updatedRunningStats(nd(xd, shape), nd(new Float32Array(3), [3]), nd(ones, [3]), 0.1).variance,
      'running_var',
      { rtol: 1e-3, atol: 1e-9 },
    );
  });

  for (const [training, relu] of [
    [true, false],
    [true, true],
    [false, false],
    [false, true],
  ]) {
    it(`backward passes gradcheck (training=${training}, relu=${relu})`, async () => {
      const rng = rngFor(`grad bn ${training} ${relu}`);
      const shape = [3, 2, 3, 2];
      const running = { mean: randomData(rng, 2), variance: randomData(rng, 2, { lo: 0.5, hi: 2 }) };
      await gradcheck(
        {
          name: `bn training=${training} relu=${relu}`,
          inputs: [
            { data: randomData(rng, 36, { lo: -2, hi: 2 }), shape },
            { data: randomData(rng, 2, { gap: 0.3 }), shape: [2] },
            { data: randomData(rng, 2), shape: [2] },
          ],
          gpu: (x, w, b) =>
            batchNorm(x, tensor(running.mean, [2]), tensor(running.variance, [2]), w, b, { training, relu }),
          reference: (x, w, b) =>
            refBatchNorm(x, nd(running.mean, [2]), nd(running.variance, [2]), w, b, {
              training,
              relu,
              eps: 1e-5,
              momentum: 0.1,
            }),
          rtol: 5e-3,
        },
        rng,
      );
    });
  }

  // The kernels split each plane into segments (one per invocation): many short ones when a
  // tensor has few planes (the shapes above), one per plane when it has 2048 or more, and
  // two for planes over 1024 elements. Each of those splits, forward and backward.
  for (const shape of SEGMENT_SHAPES) {
    it(`training with the fused ReLU on ${JSON.stringify(shape)}: output, running stats and gradients`, () =>
      checkTrainingCase(shape));
  }

  it('the closed-form reference backward agrees with central differences of the reference forward', () => {
    const rng = rngFor('bn reference backward');
    const shape = [3, 2, 2, 3];
    const spec = { training: true, relu: true, eps: 1e-5, momentum: 0.1 };
    const [x, g, w, b] = [
      nd(randomData(rng, 36, { lo: -2, hi: 2 }), shape),
      nd(randomData(rng, 36), shape),
      nd(randomData(rng, 2, { gap: 0.3 }), [2]),
      nd(randomData(rng, 2), [2]),
    ];
    const [m, v] = [nd([0, 0], [2]), nd([1, 1], [2])];
    const objective = () => refBatchNorm(x, m, v, w, b, spec).data.reduce((s, y, i) => s + y * g.data[i], 0);
    const grads = batchNormBackward(x, g, m, v, w, b, spec);
    for (const [name, input, analytic] of [
      ['x', x, grads.x],
      ['weight', w, grads.weight],
      ['bias', b, grads.bias],
    ] as const) {
      const numeric = Array.from(input.data, (value, j) => {
        input.data[j] = value + 1e-6;
        const up = objective();
        input.data[j] = value - 1e-6;
        const down = objective();
        input.data[j] = value;
        return (up - down) / 2e-6;
      });
      assertClose(analytic.data, numeric, `reference backward: d/d ${name}`, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  for (const [training, relu, shape] of [
    [true, true, [3, 2, 3, 2]],
    [true, true, [2, 2, 4, 4]],
    [true, false, [3, 2, 3, 2]],
    [false, true, [2, 2, 4, 4]],
  ] as const) {
    it(`with a residual added before the ReLU on ${JSON.stringify(shape)}: output and gradcheck (training=${training}, relu=${relu})`, () =>
      checkResidualCase(training, relu, [...shape]));
  }

  it('an empty batch in eval mode gives an empty output', () => {
    const c3 = tensor([1, 1, 1]);
    expect(batchNorm(tensor(new Float32Array(0), [2, 3, 0, 4]), c3, c3, c3, c3, { training: false }).shape).toEqual([
      2, 3, 0, 4,
    ]);
    expect(
      batchNorm(tensor(new Float32Array(0), [0, 3, 2, 2]), c3, c3, c3, c3, { training: false, relu: true }).shape,
    ).toEqual([0, 3, 2, 2]);
  });

  it('rejects bad shapes and missing running statistics', () => {
    const x = tensor(new Float32Array(2 * 3 * 4), [2, 3, 2, 2]);
    const c3 = tensor([1, 1, 1]);
    expect(() => batchNorm(x, null, null, tensor([1, 1]), c3, { training: true })).toThrow(ShapeError);
    expect(() => batchNorm(x, null, null, tensor([1, 1]), c3, { training: true })).toThrow(
      /^batchNorm: argument 'weight' has shape \[2\], expected \[3\] for input \[2, 3, 2, 2\]/,
    );
    expect(() => batchNorm(x, null, null, c3, c3, { training: false })).toThrow(ArgumentError);
    expect(() => batchNorm(tensor([1, 2, 3]), null, null, c3, c3, { training: true })).toThrow(/must be 4-D/);
    expect(() => batchNorm(tensor([1, 2, 3], [1, 3, 1, 1]), null, null, c3, c3, { training: true })).toThrow(
      /training needs more than one/,
    );
    expect(() => batchNorm(x, null, null, c3, c3, { training: true, relu: true, residual: tensor([1, 2, 3]) })).toThrow(
      /^batchNormAddRelu: argument 'residual' has shape \[3\], expected the input's \[2, 3, 2, 2\]/,
    );
  });
});
