import { describe, expect, it } from 'vitest';
import { adaptiveAvgPool2d1, ArgumentError, maxPool2d, tensor } from '../src/index.js';
import { maxPool2d as refMaxPool, nd, reduce, type PoolSpec } from '../src/reference/index.js';
import { expectMatches, gradcheck, randomData, randomDim, rngFor } from './helpers.js';

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('maxPool2d matches the reference', () => {
  it('forward over 30 random shapes and windows, the ResNet stem window included', async () => {
    const rng = rngFor('maxpool');
    for (let trial = 0; trial < 30; trial++) {
      const k = trial % 3 === 0 ? 3 : 1 + rng.int(4);
      const spec: PoolSpec =
        trial % 3 === 0
          ? { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }
          : { kernel: [k, k], stride: [1 + rng.int(3), 1 + rng.int(3)], padding: [rng.int(Math.floor(k / 2) + 1), 0] };
      const shape = [randomDim(rng, 3), randomDim(rng, 4), k + randomDim(rng, 10), k + randomDim(rng, 10)];
      const d = randomData(rng, count(shape));
      const y = maxPool2d(tensor(d, shape), spec.kernel, { stride: spec.stride, padding: spec.padding });
      await expectMatches(
        y,
        refMaxPool(nd(d, shape), spec),
        `maxpool ${JSON.stringify(shape)} ${JSON.stringify(spec)}`,
        { rtol: 0, atol: 0 },
      );
    }
  });

  it('backward routes each gradient to its maximum and passes gradcheck', async () => {
    const rng = rngFor('grad maxpool');
    const spec: PoolSpec = { kernel: [3, 3], stride: [2, 2], padding: [1, 1] };
    // Distinct values keep every maximum away from ties, where the gradient is not defined.
    const shape = [2, 2, 5, 6];
    const d = Float32Array.from(rng.permutation(count(shape)).map((v) => v / 10));
    await gradcheck(
      {
        name: 'maxpool 3x3 s2 p1',
        inputs: [{ data: d, shape }],
        gpu: (x) => maxPool2d(x, 3, { stride: 2, padding: 1 }),
        reference: (x) => refMaxPool(x, spec),
      },
      rng,
    );
  });

  it('rejects padding over half the window', () => {
    expect(() => maxPool2d(tensor(new Float32Array(16), [1, 1, 4, 4]), 2, { padding: 2 })).toThrow(ArgumentError);
  });
});

describe('adaptive average pooling to 1x1', () => {
  it('matches the mean over H and W and passes gradcheck', async () => {
    const rng = rngFor('avgpool');
    const shape = [2, 3, 5, 7];
    const d = randomData(rng, count(shape));
    const expected = reduce.sum(nd(d, shape), [2, 3], 1 / 35);
    await expectMatches(adaptiveAvgPool2d1(tensor(d, shape)), expected, 'avgpool', { rtol: 1e-6, atol: 1e-7 });
    await gradcheck(
      {
        name: 'avgpool',
        inputs: [{ data: randomData(rng, 24), shape: [1, 2, 3, 4] }],
        gpu: adaptiveAvgPool2d1,
        reference: (x) => reduce.sum(x, [2, 3], 1 / 12),
      },
      rng,
    );
  });
});
