import { describe, expect, it } from 'vitest';
import { ArgumentError, cat, narrow, ShapeError, stridedSlice, tensor } from '../src/index.js';
import { cat as refCat, narrow as refNarrow, nd, stridedSlice as refStridedSlice } from '../src/reference/index.js';
import { expectMatches, gradcheck, randomData, randomShape, rngFor } from './helpers.js';

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('cat and narrow match the reference', () => {
  it('30 random shapes, axes and slices', async () => {
    const rng = rngFor('cat');
    for (let trial = 0; trial < 30; trial++) {
      const shape = randomShape(rng, 1 + rng.int(4), 7);
      const axis = rng.int(shape.length);
      const parts = Array.from({ length: 1 + rng.int(3) }, () => {
        const s = [...shape];
        s[axis] = 1 + rng.int(5);
        return { data: randomData(rng, count(s)), shape: s };
      });
      const joined = cat(
        parts.map((p) => tensor(p.data, p.shape)),
        axis,
      );
      const expected = refCat(
        parts.map((p) => nd(p.data, p.shape)),
        axis,
      );
      await expectMatches(
        joined,
        expected,
        `cat axis ${axis} of ${parts.map((p) => JSON.stringify(p.shape)).join(', ')}`,
      );
      const start = rng.int(expected.shape[axis]);
      const length = rng.int(expected.shape[axis] - start + 1);
      await expectMatches(
        narrow(joined, axis, start, length),
        refNarrow(expected, axis, start, length),
        `narrow ${axis} ${start} ${length}`,
      );
    }
  });

  it('backward passes gradcheck', async () => {
    const rng = rngFor('grad cat');
    await gradcheck(
      {
        name: 'cat axis 1',
        inputs: [
          { data: randomData(rng, 12), shape: [2, 2, 3] },
          { data: randomData(rng, 6), shape: [2, 1, 3] },
        ],
        gpu: (a, b) => cat([a, b], 1),
        reference: (a, b) => refCat([a, b], 1),
      },
      rng,
    );
    await gradcheck(
      {
        name: 'narrow',
        inputs: [{ data: randomData(rng, 24), shape: [2, 4, 3] }],
        gpu: (x) => narrow(x, 1, 1, 2),
        reference: (x) => refNarrow(x, 1, 1, 2),
      },
      rng,
    );
  });

  it('rejects mismatched shapes and out-of-range slices', () => {
    expect(() => cat([tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [2, 2])], 0)).toThrow(
      ShapeError,
    );
    expect(() => cat([tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [2, 2])], 0)).toThrow(
      /^cat: argument 'tensors\[1\]' has shape \[2, 2\]/,
    );
    expect(() => narrow(tensor(new Float32Array(6), [2, 3]), 1, 2, 2)).toThrow(ArgumentError);
  });
});

describe('stridedSlice matches the reference', () => {
  it('20 random shapes and steps, and its backward (a scatter) passes gradcheck', async () => {
    const rng = rngFor('stridedSlice');
    for (let trial = 0; trial < 20; trial++) {
      const shape = randomShape(rng, 1 + rng.int(4), 7);
      const steps = shape.map(() => 1 + rng.int(3));
      const data = randomData(rng, count(shape));
      await expectMatches(
        stridedSlice(tensor(data, shape), steps),
        refStridedSlice(nd(data, shape), steps),
        `stridedSlice ${JSON.stringify(shape)} by ${steps.join(',')}`,
      );
    }
    // Rows of the output longer than one invocation's run of 64: three runs, and two.
    for (const [shape, steps] of [
      [
        [2, 3, 150],
        [1, 2, 1],
      ],
      [
        [3, 263],
        [2, 3],
      ],
    ]) {
      const data = randomData(rng, count(shape));
      await expectMatches(
        stridedSlice(tensor(data, shape), steps),
        refStridedSlice(nd(data, shape), steps),
        `stridedSlice ${JSON.stringify(shape)} by ${steps.join(',')}`,
      );
    }
    await gradcheck(
      {
        name: 'stridedSlice',
        inputs: [{ data: randomData(rng, 2 * 3 * 5 * 4), shape: [2, 3, 5, 4] }],
        gpu: (x) => stridedSlice(x, [1, 2, 2, 3]),
        reference: (x) => refStridedSlice(x, [1, 2, 2, 3]),
      },
      rng,
    );
    await gradcheck(
      {
        name: 'stridedSlice, long rows',
        inputs: [{ data: randomData(rng, 2 * 139), shape: [2, 139] }],
        gpu: (x) => stridedSlice(x, [1, 2]),
        reference: (x) => refStridedSlice(x, [1, 2]),
      },
      rng,
    );
  });

  it('rejects steps that do not fit the input', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => stridedSlice(x, [1])).toThrow(/^stridedSlice: argument 'steps' must be 2 positive integers/);
    expect(() => stridedSlice(x, [1, 0])).toThrow(ArgumentError);
  });
});
