// Property-based fuzzing of the network layers: linear, crossEntropy, maxPool2d, batchNorm,
// matmul and conv2d with random shapes and arguments, valid and not. As in fuzz.test.ts
// (the tensor ops), every call matches the CPU reference or throws a typed error naming the
// op, nothing goes wrong on the GPU afterwards, and valid input never gives NaN.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { batchNorm, conv2d, crossEntropy, linear, matmul, maxPool2d, tensor } from '../src/index.js';
import {
  batchNorm as refBatchNorm,
  conv2d as refConv,
  crossEntropy as refCrossEntropy,
  elementwise,
  matmul as refMatmul,
  maxPool2d as refMaxPool,
  nd,
} from '../src/reference/index.js';
import { expectMatchOrTypedError, settings, shape, values } from './fuzz-helpers.js';

describe('fuzz: every layer matches the reference or throws a typed error', () => {
  it('linear, crossEntropy, maxPool2d and batchNorm with any shapes and arguments', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 0, max: 3 }),
          fin: fc.integer({ min: 1, max: 4 }),
          fout: fc.integer({ min: 1, max: 4 }),
          wrongIn: fc.boolean(),
          labels: fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 4 }),
        }),
        fc.record({
          c: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 6 }),
          k: fc.integer({ min: 0, max: 3 }),
          stride: fc.integer({ min: 0, max: 2 }),
          padding: fc.integer({ min: 0, max: 2 }),
          training: fc.boolean(),
        }),
        async (l, p) => {
          const xs = [l.n, l.fin];
          const ws = [l.fout, l.wrongIn ? l.fin + 1 : l.fin];
          const [x, w, b] = [values(xs), values(ws), values([l.fout])];
          await expectMatchOrTypedError(
            'linear',
            () => linear(tensor(x, xs), tensor(w, ws), tensor(b, [l.fout])),
            () =>
              l.wrongIn
                ? null
                : elementwise.binary('add', refMatmul(nd(x, xs), nd(w, ws), false, true), nd(b, [l.fout])),
          );
          const logits = values([l.labels.length, l.fout]);
          const labelsOk = l.labels.length > 0 && l.labels.every((t) => t >= 0 && t < l.fout);
          await expectMatchOrTypedError(
            'crossEntropy',
            () => crossEntropy(tensor(logits, [l.labels.length, l.fout]), l.labels),
            () => (labelsOk ? refCrossEntropy(nd(logits, [l.labels.length, l.fout]), l.labels) : null),
          );
          const ps = [2, p.c, p.h, p.h];
          const img = values(ps);
          const poolOk = p.k > 0 && p.stride > 0 && 2 * p.padding <= p.k && p.h + 2 * p.padding >= p.k;
          const spec = {
            kernel: [p.k, p.k] as [number, number],
            stride: [p.stride, p.stride] as [number, number],
            padding: [p.padding, p.padding] as [number, number],
          };
          await expectMatchOrTypedError(
            'maxPool2d',
            () => maxPool2d(tensor(img, ps), p.k, { stride: p.stride, padding: p.padding }),
            () => (poolOk ? refMaxPool(nd(img, ps), spec) : null),
          );
          const ones = new Float32Array(p.c).fill(1);
          const zeros = new Float32Array(p.c);
          await expectMatchOrTypedError(
            'batchNorm',
            () =>
              batchNorm(
                tensor(img, ps),
                tensor(zeros, [p.c]),
                tensor(ones, [p.c]),
                tensor(ones, [p.c]),
                tensor(zeros, [p.c]),
                { training: p.training },
              ),
            () =>
              refBatchNorm(nd(img, ps), nd(zeros, [p.c]), nd(ones, [p.c]), nd(ones, [p.c]), nd(zeros, [p.c]), {
                training: p.training,
                eps: 1e-5,
                relu: false,
                momentum: 0.1,
              }),
          );
        },
      ),
      settings,
    );
  });

  it('matmul of any two shapes', async () => {
    await fc.assert(
      fc.asyncProperty(shape(3), shape(3), async (sa, sb) => {
        const [a, b] = [values(sa), values(sb)];
        const ok = sa.length === 2 && sb.length === 2 && sa[1] === sb[0];
        await expectMatchOrTypedError(
          'matmul',
          () => matmul(tensor(a, sa), tensor(b, sb)),
          () => (ok ? refMatmul(nd(a, sa), nd(b, sb)) : null),
        );
      }),
      settings,
    );
  });

  it('conv2d with any geometry, groups, stride and padding', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 0, max: 2 }),
          groups: fc.integer({ min: 0, max: 4 }),
          cin: fc.integer({ min: 1, max: 8 }),
          cout: fc.integer({ min: 1, max: 8 }),
          h: fc.integer({ min: 1, max: 7 }),
          w: fc.integer({ min: 1, max: 7 }),
          k: fc.constantFrom(1, 3),
          stride: fc.integer({ min: 0, max: 2 }),
          padding: fc.integer({ min: -1, max: 2 }),
          dilation: fc.constantFrom(0, 1, 2),
        }),
        async ({ n, groups, cin, cout, h, w, k, stride, padding, dilation }) => {
          const xs = [n, cin, h, w];
          const ws = [cout, groups > 0 && cin % groups === 0 ? cin / groups : cin, k, k];
          const [x, wt] = [values(xs), values(ws)];
          const spec = {
            stride: [stride, stride] as [number, number],
            padding: [padding, padding] as [number, number],
            dilation: [dilation, dilation] as [number, number],
            groups,
          };
          const span = dilation * (k - 1) + 1;
          const ok =
            n > 0 &&
            groups > 0 &&
            cin % groups === 0 &&
            cout % groups === 0 &&
            stride > 0 &&
            padding >= 0 &&
            dilation > 0 &&
            span <= h + 2 * padding &&
            span <= w + 2 * padding;
          await expectMatchOrTypedError(
            'conv2d',
            () => conv2d(tensor(x, xs), tensor(wt, ws), null, { stride, padding, groups, dilation }),
            () => (ok ? refConv(nd(x, xs), nd(wt, ws), null, spec) : null),
          );
        },
      ),
      settings,
    );
  });
});
