// The comparisons must be able to fail: a deliberately broken kernel or backward rule,
// run through the same helpers as the real tests, has to be caught (the convolution's
// kernels: mutation-conv.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { record } from '../src/autograd.js';
import { expand, relu, runtime, stridedSlice, sub, sum, tensor } from '../src/index.js';
import { mm } from '../src/ops/matmul.js';
import {
  elementwise,
  matmul as refMatmul,
  nd,
  reduce as refReduce,
  stridedSlice as refStridedSlice,
} from '../src/reference/index.js';
import { checkResidualCase, checkTrainingCase, SEGMENT_SHAPES } from './batchnorm-cases.js';
import { expectMatches, gradcheck, randomData, rngFor } from './helpers.js';

import { mutate } from './mutants.js';

afterEach(() => {
  runtime().setKernelSource('matmul', null);
  runtime().setKernelSource('elementwise', null);
  runtime().setKernelSource('batchnorm', null);
  runtime().setKernelSource('matmul_subgroup', null);
  runtime().setKernelSource('fill', null);
  runtime().setKernelSource('reduce', null);
});

describe('a wrong kernel is caught', () => {
  it('matmul that skips the first k term', async () => {
    mutate('matmul', 'for (var k = 0u;', 'for (var k = 1u;');
    const rng = rngFor('mutant matmul');
    const [da, db] = [randomData(rng, 5 * 7), randomData(rng, 7 * 3)];
    await expect(
      expectMatches(mm(tensor(da, [5, 7]), tensor(db, [7, 3])), refMatmul(nd(da, [5, 7]), nd(db, [7, 3])), 'mutant mm'),
    ).rejects.toThrow(/mutant mm: element/);
  });

  it('sub with its operands swapped', async () => {
    mutate('elementwise', 'case BINARY_SUB: { return x - y; }', 'case BINARY_SUB: { return y - x; }');
    const rng = rngFor('mutant sub');
    const [da, db] = [randomData(rng, 6), randomData(rng, 3)];
    await expect(
      expectMatches(
        sub(tensor(da, [2, 3]), tensor(db, [3])),
        elementwise.binary('sub', nd(da, [2, 3]), nd(db, [3])),
        'mutant sub',
      ),
    ).rejects.toThrow(/mutant sub: element/);
  });

  it('a broadcast that reads the wrong stride', async () => {
    mutate('elementwise', 'offset += qr.y * strides[d / 4][d % 4];', 'offset += qr.y * strides[0][0];');
    const rng = rngFor('mutant broadcast');
    const [da, db] = [randomData(rng, 12), randomData(rng, 4)];
    await expect(
      expectMatches(
        sub(tensor(da, [3, 4]), tensor(db, [1, 4])),
        elementwise.binary('sub', nd(da, [3, 4]), nd(db, [1, 4])),
        'mutant broadcast',
      ),
    ).rejects.toThrow(/element/);
  });
});

describe('a wrong vec4 reduction is caught', () => {
  // [name, from, to, shape, axis]: sum_rows4 over leading axes, sum_runs4 over trailing ones.
  const mutants: [string, string, string, number[], number][] = [
    [
      'sums down the rows that skip the first row',
      'for (var r = 0u; r < sum.reduced; r++) { acc += x4',
      'for (var r = 1u; r < sum.reduced; r++) { acc += x4',
      [6, 8],
      0,
    ],
    [
      "sums of runs that skip each run's first value",
      '(k >= vec4<u32>(s)) & (k < vec4<u32>(end))',
      '(k > vec4<u32>(s)) & (k < vec4<u32>(end))',
      [6, 7],
      1,
    ],
  ];
  for (const [name, from, to, shape, axis] of mutants) {
    it(name, async () => {
      mutate('reduce', from, to);
      const d = randomData(rngFor(`mutant ${name}`), shape[0] * shape[1]);
      const expected = refReduce.sum(nd(d, shape), [axis]);
      expected.shape = [shape[1 - axis]];
      await expect(expectMatches(sum(tensor(d, shape), axis), expected, 'mutant sums')).rejects.toThrow(
        /mutant sums: element/,
      );
    });
  }
});

describe('a wrong repeat is caught', () => {
  it('repeat4 that switches to the next value one component late', async () => {
    mutate('elementwise', '>= vec4<u32>(count - qr.y)', '> vec4<u32>(count - qr.y)');
    const rng = rngFor('mutant repeat4');
    const d = randomData(rng, 5);
    await expect(
      expectMatches(expand(tensor(d, [5, 1]), [5, 7]), elementwise.broadcastTo(nd(d, [5, 1]), [5, 7]), 'mutant repeat'),
    ).rejects.toThrow(/mutant repeat: element/);
  });
});

describe('a wrong elementwise walk is caught', () => {
  it('vec4 spans that stop one vec4 short', async () => {
    mutate('elementwise', 'min(first + SPAN, (n + 3u) / 4u)', 'min(first + SPAN - 1u, (n + 3u) / 4u)');
    const n = 4 * 16 * 4096 + 7;
    const d = randomData(rngFor('mutant span'), n);
    await expect(
      expectMatches(relu(tensor(d, [n])), elementwise.unary('relu', nd(d, [n])), 'mutant span'),
    ).rejects.toThrow(/mutant span: element/);
  });

  it('strided copy runs that stop one element short', async () => {
    mutate('elementwise', 'j < min(RUN, last - first.y * RUN)', 'j < min(RUN - 1u, last - first.y * RUN)');
    const d = randomData(rngFor('mutant run'), 2 * 150);
    await expect(
      expectMatches(stridedSlice(tensor(d, [2, 150]), [1, 2]), refStridedSlice(nd(d, [2, 150]), [1, 2]), 'mutant run'),
    ).rejects.toThrow(/mutant run: element/);
  });
});

describe('a wrong batchnorm kernel is caught by the batchnorm checks', () => {
  const mutants: [string, string, string, number[]][] = [
    [
      "finalize that skips each plane's first segment",
      'for (var s = 0u; s < SEGMENTS; s++)',
      'for (var s = 1u; s < SEGMENTS; s++)',
      SEGMENT_SHAPES[1],
    ],
    [
      'segments that stop one element short',
      'start + min(SEGMENT, q.HW - min(first, q.HW))',
      'start + min(SEGMENT - 1u, q.HW - min(first, q.HW))',
      SEGMENT_SHAPES[0],
    ],
    [
      'backward_apply without the mean of g',
      'd = scale * (g - mean_g - xhat * mean_gx);',
      'd = scale * (g - xhat * mean_gx);',
      SEGMENT_SHAPES[2],
    ],
  ];
  for (const [name, from, to, shape] of mutants) {
    it(name, async () => {
      mutate('batchnorm', from, to);
      await expect(checkTrainingCase(shape)).rejects.toThrow(/bn \[/);
    });
  }
  it('apply_residual that adds half the residual', async () => {
    mutate('batchnorm', 'ch.b + residual_vec(i)', 'ch.b + 0.5 * residual_vec(i)');
    await expect(checkResidualCase(true, true, [2, 2, 4, 4])).rejects.toThrow(/bn \+ residual/);
  });
});

describe('a wrong backward rule is caught by gradcheck', () => {
  it('relu whose backward forgets the mask', async () => {
    const leakyBackward = (x: ReturnType<typeof tensor>) => {
      const y = relu(x.detach());
      return record(y, 'wrong relu', [x], (g) => [g.clone()]);
    };
    const rng = rngFor('mutant relu grad');
    await expect(
      gradcheck(
        {
          name: 'wrong relu',
          inputs: [{ data: randomData(rng, 8, { gap: 0.1 }), shape: [8] }],
          gpu: leakyBackward,
          reference: (x) => elementwise.unary('relu', x),
        },
        rng,
      ),
    ).rejects.toThrow(/wrong relu: d\/d input 0/);
  });
});
