// Property-based fuzzing of the public ops: random shapes and arguments, valid and not.
// Every call either matches the CPU reference or throws one of the project's typed errors
// naming the op; no WebGPU error surfaces afterwards, and valid input never gives NaN.
// FUZZ_RUNS=n raises the budget (default 25 cases per property); FUZZ_SEED (else
// TEST_SEED) picks the cases, and CI passes a fresh one each run, printed here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d1,
  add,
  batchNorm,
  cat,
  clone,
  conv2d,
  crossEntropy,
  div,
  exp,
  expand,
  flatten,
  full,
  linear,
  log,
  matmul,
  maxPool2d,
  mean,
  mul,
  narrow,
  neg,
  relu,
  reshape,
  ResnextError,
  runtime,
  sqrt,
  sub,
  sum,
  tensor,
} from '../src/index.js';
import {
  batchNorm as refBatchNorm,
  cat as refCat,
  conv2d as refConv,
  crossEntropy as refCrossEntropy,
  elementwise,
  matmul as refMatmul,
  maxPool2d as refMaxPool,
  narrow as refNarrow,
  nd,
  reduce,
  type NDArray,
} from '../src/reference/index.js';
import { assertClose } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? process.env.TEST_SEED ?? 1234);
const settings = { numRuns: RUNS, seed: SEED, endOnFailure: true };
console.log(`fuzz: ${RUNS} cases per property, seed ${SEED} (rerun with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`);

const dim = fc.integer({ min: 0, max: 5 });
const shape = (maxRank = 4) => fc.array(dim, { minLength: 0, maxLength: maxRank });
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
const values = (s: number[]) => Float32Array.from({ length: count(s) }, (_, i) => Math.sin(i * 1.7 + s.length) * 2);

/** Runs `call`; passes if it matches `reference` or throws a ResnextError naming `op`, and nothing goes wrong on the GPU afterwards. */
async function expectMatchOrTypedError(
  op: string,
  call: () => { toArray(): Promise<Float32Array>; shape: readonly number[] },
  reference: () => NDArray | null,
): Promise<void> {
  let expected: NDArray | null = null;
  try {
    expected = reference();
  } catch {
    expected = null; // the reference refuses: the op must refuse too
  }
  let out: ReturnType<typeof call> | null = null;
  try {
    out = call();
  } catch (error) {
    expect(error, `${op} threw an untyped error`).toBeInstanceOf(ResnextError);
    expect((error as Error).message).toContain(op);
    await runtime().sync();
    return;
  }
  expect(expected, `${op} accepted arguments the reference rejects`).not.toBeNull();
  expect([...out.shape]).toEqual(expected!.shape);
  const got = await out.toArray();
  expect(
    got.every((v) => !Number.isNaN(v)),
    `${op} gave NaN for valid input`,
  ).toBe(true);
  const scale = Math.max(1, ...Array.from(expected!.data, Math.abs));
  assertClose(got, expected!.data, op, { rtol: 1e-4, atol: 1e-4 * scale });
  await runtime().sync();
}

describe('fuzz: every op matches the reference or throws a typed error', () => {
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
