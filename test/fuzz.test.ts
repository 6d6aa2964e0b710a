// Property-based fuzzing of the tensor ops: random shapes and arguments, valid and not.
// Every call either matches the CPU reference or throws one of the project's typed errors
// naming the op; no WebGPU error surfaces afterwards, and valid input never gives NaN.
// The network layers (linear, crossEntropy, pooling, batchNorm, matmul, conv2d) are fuzzed
// in fuzz-nn.test.ts; the budget and seed (FUZZ_RUNS, FUZZ_SEED) are in fuzz-helpers.ts.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  adaptiveAvgPool2d1,
  add,
  cat,
  clone,
  div,
  exp,
  expand,
  flatten,
  full,
  log,
  mean,
  mul,
  narrow,
  neg,
  relu,
  reshape,
  sqrt,
  sub,
  sum,
  tensor,
} from '../src/index.js';
import { cat as refCat, elementwise, narrow as refNarrow, nd, reduce } from '../src/reference/index.js';
import { count, expectMatchOrTypedError, settings, shape, values } from './fuzz-helpers.js';

describe('fuzz: every tensor op matches the reference or throws a typed error', () => {
  it('unary ops and expand on any shape', async () => {
    const ops = [
      ['relu', relu, 'relu'],
      ['exp', exp, 'exp'],
      ['log', log, 'log'],
      ['sqrt', sqrt, 'sqrt'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(shape(), fc.constantFrom(...ops), shape(4), async (s, [name, op, refOp], target) => {
        const a = values(s).map((v) => (refOp === 'log' || refOp === 'sqrt' ? Math.abs(v) + 0.5 : v));
        await expectMatchOrTypedError(
          name,
          () => op(tensor(a, s)),
          () => elementwise.unary(refOp, nd(a, s)),
        );
        const fits =
          target.length >= s.length && s.every((d, i) => d === 1 || d === target[target.length - s.length + i]);
        await expectMatchOrTypedError(
          'expand',
          () => expand(tensor(a, s), target),
          () => (fits ? elementwise.broadcastTo(nd(a, s), target) : null),
        );
        await expectMatchOrTypedError(
          'neg',
          () => neg(tensor(a, s)),
          () => elementwise.unary('identity', nd(a, s), -1),
        );
        await expectMatchOrTypedError(
          'clone',
          () => clone(tensor(a, s)),
          () => nd(a, s),
        );
        await expectMatchOrTypedError(
          'flatten',
          () => flatten(tensor(a, s)),
          () => (s.length >= 2 ? nd(a, [s[0], s.slice(1).reduce((x, y) => x * y, 1)]) : null),
        );
        await expectMatchOrTypedError(
          'full',
          () => full(s, 2.5),
          () => nd(new Float32Array(count(s)).fill(2.5), s),
        );
        const pooled =
          s.length === 4
            ? { data: reduce.sum(nd(a, s), [2, 3], 1 / (s[2] * s[3])).data, shape: [s[0], s[1], 1, 1] }
            : null;
        if (s.length !== 4 || s[2] * s[3] > 0)
          await expectMatchOrTypedError(
            'adaptiveAvgPool2d',
            () => adaptiveAvgPool2d1(tensor(a, s)),
            () => pooled,
          );
      }),
      settings,
    );
  });

  it('cat of any tensors along any axis', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(shape(3), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: -3, max: 3 }),
        async (shapes, axis) => {
          const parts = shapes.map((s) => ({ s, a: values(s) }));
          const rank = shapes[0].length;
          const d = axis < 0 ? axis + rank : axis;
          const ok =
            rank > 0 &&
            d >= 0 &&
            d < rank &&
            shapes.every((s) => s.length === rank && s.every((v, i) => i === d || v === shapes[0][i]));
          await expectMatchOrTypedError(
            'cat',
            () =>
              cat(
                parts.map((p) => tensor(p.a, p.s)),
                axis,
              ),
            () =>
              ok
                ? refCat(
                    parts.map((p) => nd(p.a, p.s)),
                    d,
                  )
                : null,
          );
        },
      ),
      settings,
    );
  });

  it('binary ops with any two shapes, broadcastable or not', async () => {
    const ops = [
      ['add', add, 'add'],
      ['sub', sub, 'sub'],
      ['mul', mul, 'mul'],
      ['div', div, 'div'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(shape(), shape(), fc.constantFrom(...ops), async (sa, sb, [name, op, refOp]) => {
        const [a, b] = [values(sa), values(sb).map((v) => (refOp === 'div' ? v + 3 : v))];
        await expectMatchOrTypedError(
          name,
          () => op(tensor(a, sa), tensor(b, sb)),
          () => elementwise.binary(refOp, nd(a, sa), nd(b, sb)),
        );
      }),
      settings,
    );
  });

  it('scalar operands, finite or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        shape(3),
        fc.oneof(fc.double({ min: -10, max: 10, noNaN: true }), fc.constantFrom(NaN, Infinity, -Infinity)),
        async (s, k) => {
          const a = values(s);
          await expectMatchOrTypedError(
            'mul',
            () => mul(tensor(a, s), k),
            () => (Number.isFinite(k) ? elementwise.unary('identity', nd(a, s), k) : null),
          );
        },
      ),
      settings,
    );
  });

  it('sum and mean over any axes, valid or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        shape(4),
        fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
        fc.boolean(),
        async (s, axes, isMean) => {
          const a = values(s);
          // A 0-d tensor takes axis 0 or -1, and reduces nothing.
          const normalized =
            s.length === 0
              ? axes.every((x) => x === 0 || x === -1) && axes.length < 2
                ? []
                : [99]
              : axes.map((x) => (x < 0 ? x + s.length : x));
          // An empty axis list reduces nothing (NumPy's axis=()).
          const valid =
            normalized.every((x) => x >= 0 && x < s.length) && new Set(normalized).size === normalized.length;
          const reference = () => {
            if (!valid) return null;
            const n = count(normalized.map((x) => s[x]));
            const r = reduce.sum(nd(a, s), normalized, isMean ? 1 / n : 1);
            if (isMean && n === 0) return null; // a mean of nothing is NaN, as in PyTorch
            return { data: r.data, shape: s.filter((_, i) => !normalized.includes(i)) };
          };
          if (valid && isMean && count(normalized.map((x) => s[x])) === 0) return;
          await expectMatchOrTypedError(
            isMean ? 'mean' : 'sum',
            () => (isMean ? mean : sum)(tensor(a, s), axes),
            reference,
          );
        },
      ),
      settings,
    );
  });

  it('reshape and narrow with any arguments', async () => {
    await fc.assert(
      fc.asyncProperty(
        shape(3),
        shape(3),
        fc.integer({ min: -1, max: 3 }),
        fc.integer({ min: -1, max: 4 }),
        fc.integer({ min: -1, max: 4 }),
        async (s, target, axis, start, length) => {
          const a = values(s);
          await expectMatchOrTypedError(
            'reshape',
            () => reshape(tensor(a, s), target),
            () => (count(target) === count(s) ? nd(a, target) : null),
          );
          const d = axis < 0 ? axis + s.length : axis; // negative axes count from the end
          const ok = s.length > 0 && d >= 0 && d < s.length && start >= 0 && length >= 0 && start + length <= s[d];
          await expectMatchOrTypedError(
            'narrow',
            () => narrow(tensor(a, s), axis, start, length),
            () => (ok ? refNarrow(nd(a, s), d, start, length) : null),
          );
        },
      ),
      settings,
    );
  });
});
