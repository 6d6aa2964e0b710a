import { describe, expect, it } from 'vitest';
import { mean, sum, tensor } from '../src/index.js';
import { nd, reduce as ref } from '../src/reference/index.js';
import { expectMatches, gradcheck, launchesDuring, randomData, randomShape, rngFor } from './helpers.js';
import type { Generator } from '../src/index.js';

function randomAxes(rng: Generator, rank: number): number[] {
  const axes = [...Array(rank).keys()].filter(() => rng.random() < 0.5);
  return axes.length ? axes : [rng.int(rank)];
}

describe('sum and mean match the reference', () => {
  for (const op of ['sum', 'mean'] as const) {
    it(`${op}: 40 random shapes and axis sets, keepdim both ways`, async () => {
      const rng = rngFor(op);
      for (let trial = 0; trial < 40; trial++) {
        const shape = randomShape(rng, 1 + rng.int(5), 12);
        const axes = randomAxes(rng, shape.length);
        const keepdim = rng.random() < 0.5;
        const d = randomData(
          rng,
          shape.reduce((a, b) => a * b, 1),
        );
        const x = tensor(d, shape);
        const out = op === 'sum' ? sum(x, axes, keepdim) : mean(x, axes, keepdim);
        const count = axes.reduce((n, a) => n * shape[a], 1);
        const expected = ref.sum(nd(d, shape), axes, op === 'mean' ? 1 / count : 1);
        const absolute = ref.sum(nd(d.map(Math.abs), shape), axes, op === 'mean' ? 1 / count : 1);
        if (!keepdim) expected.shape = shape.filter((_, i) => !axes.includes(i));
        await expectMatches(out, expected, `${op} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`, {
          rtol: 1e-6,
          scale: absolute.data,
        });
      }
    });
  }

  it('long reductions (one workgroup cooperating per output) and negative axes', async () => {
    const rng = rngFor('long');
    const shape = [3, 5000];
    const d = randomData(rng, 15000);
    const abs = ref.sum(nd(d.map(Math.abs), shape), [1]);
    const expected = ref.sum(nd(d, shape), [1]);
    expected.shape = [3];
    await expectMatches(sum(tensor(d, shape), -1), expected, 'sum over 5000', { rtol: 1e-6, scale: abs.data });
    await expectMatches(
      sum(tensor(d, shape)),
      { data: Float64Array.of(expected.data.reduce((a, b) => a + b)), shape: [] },
      'sum of all',
      { rtol: 1e-6, scale: [abs.data.reduce((a, b) => a + b)] },
    );
  });

  it('sums over leading axes (conv2d partial sums) and trailing ones (the global average pool) by vec4 walks', async () => {
    const rng = rngFor('rows');
    // Leading axes reduced (merged into one run), the rest kept: rows of 4-64 values; then
    // trailing runs of 1-300 values, which start at every offset mod 4.
    const cases: [number[], number[]][] = [
      [[7, 12], [0]],
      [[1, 16], [0]],
      [[33, 4], [0]],
      [
        [3, 5, 8],
        [0, 1],
      ],
      [[2, 3, 4, 4], [0]],
      [
        [4, 0, 8],
        [0, 1],
      ],
      [
        [5, 7, 7],
        [1, 2],
      ],
      [[9, 13], [1]],
      [
        [3, 2, 1],
        [1, 2],
      ],
      [[6, 3, 3], [2]],
      [[2, 300], [1]],
      [[3, 0], [1]],
    ];
    const { launched } = await launchesDuring(async () => {
      for (const [shape, axes] of cases) await checkSums(rng, shape, axes);
    });
    expect(launched, 'both vec4 walks ran').toEqual(expect.arrayContaining(['reduce:sum_rows4', 'reduce:sum_runs4']));
  });

  it('reducing no elements gives 0 for sum', async () => {
    expect(Array.from(await sum(tensor([], [2, 0]), 1).toArray())).toEqual([0, 0]);
  });
});

/** sum and mean of `shape` over `axes` against the reference (sum alone where nothing is summed). */
async function checkSums(rng: Generator, shape: number[], axes: number[]): Promise<void> {
  const d = randomData(
    rng,
    shape.reduce((a, b) => a * b, 1),
  );
  const count = axes.reduce((n, a) => n * shape[a], 1);
  for (const op of count ? (['sum', 'mean'] as const) : (['sum'] as const)) {
    const alpha = op === 'mean' ? 1 / count : 1;
    const expected = ref.sum(nd(d, shape), axes, alpha);
    const absolute = ref.sum(nd(d.map(Math.abs), shape), axes, alpha);
    expected.shape = shape.filter((_, i) => !axes.includes(i));
    const x = tensor(d, shape);
    await expectMatches(
      op === 'sum' ? sum(x, axes) : mean(x, axes),
      expected,
      `${op} of ${JSON.stringify(shape)} over ${JSON.stringify(axes)}`,
      { rtol: 1e-6, scale: absolute.data },
    );
  }
}

describe('reduction backward passes gradcheck', () => {
  for (const op of ['sum', 'mean'] as const) {
    it(op, async () => {
      const rng = rngFor(`grad ${op}`);
      for (let trial = 0; trial < 4; trial++) {
        const shape = randomShape(rng, 1 + rng.int(3), 4);
        const axes = randomAxes(rng, shape.length);
        const count = axes.reduce((n, a) => n * shape[a], 1);
        await gradcheck(
          {
            name: `${op} ${JSON.stringify(shape)} ${JSON.stringify(axes)}`,
            inputs: [
              {
                data: randomData(
                  rng,
                  shape.reduce((a, b) => a * b, 1),
                ),
                shape,
              },
            ],
            gpu: (x) => (op === 'sum' ? sum(x, axes) : mean(x, axes)),
            reference: (x) => ref.sum(x, axes, op === 'mean' ? 1 / count : 1),
          },
          rng,
        );
      }
    });
  }
});
