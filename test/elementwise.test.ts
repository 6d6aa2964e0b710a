import { describe, expect, it } from 'vitest';
import { add, div, exp, expand, log, mul, neg, relu, sqrt, sub, tensor, type Tensor } from '../src/index.js';
import { accumulateInto } from '../src/ops/elementwise.js';
import { elementwise as ref, nd, type NDArray } from '../src/reference/index.js';
import { expectMatches, gradcheck, launchesDuring, randomData, randomShape, rngFor } from './helpers.js';
import type { Generator } from '../src/index.js';

type BinaryCase = [string, (a: Tensor, b: Tensor) => Tensor, ref.BinaryOp];
const BINARY: BinaryCase[] = [
  ['add', add, 'add'],
  ['sub', sub, 'sub'],
  ['mul', mul, 'mul'],
  ['div', div, 'div'],
];

/** Two shapes that broadcast together: some dims of b set to 1, some leading dims dropped. */
function broadcastPair(rng: Generator, maxRank = 5, maxDim = 6): [number[], number[]] {
  const a = Array.from({ length: 1 + rng.int(maxRank) }, () => 1 + rng.int(maxDim));
  let b = a.map((d) => (rng.random() < 0.3 ? 1 : d));
  if (rng.random() < 0.3) b = b.slice(rng.int(b.length));
  return rng.random() < 0.5 ? [a, b] : [b, a];
}

const data = (rng: Generator, shape: number[], opts = {}) =>
  randomData(
    rng,
    shape.reduce((x, y) => x * y, 1),
    opts,
  );

describe('binary elementwise ops match the reference', () => {
  for (const [name, op, refOp] of BINARY) {
    it(`${name}: 30 random shape pairs, with and without broadcasting`, async () => {
      const rng = rngFor(name);
      for (let trial = 0; trial < 30; trial++) {
        const [sa, sb] =
          trial % 3 === 0
            ? (() => {
                const s = randomShape(rng, 1 + rng.int(4));
                return [s, s];
              })()
            : broadcastPair(rng);
        const da = data(rng, sa);
        const db = data(rng, sb, name === 'div' ? { gap: 0.25 } : {});
        const out = op(tensor(da, sa), tensor(db, sb));
        await expectMatches(
          out,
          ref.binary(refOp, nd(da, sa), nd(db, sb)),
          `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
        );
      }
    });
  }

  it('scalar forms of add, sub, mul, div and neg', async () => {
    const rng = rngFor('scalar');
    const shape = [3, 257];
    const d = data(rng, shape);
    const x = tensor(d, shape);
    const x64 = nd(d, shape);
    await expectMatches(add(x, 2.5), ref.unary('identity', x64, 1, 2.5), 'x + 2.5');
    await expectMatches(sub(x, 2.5), ref.unary('identity', x64, 1, -2.5), 'x - 2.5');
    await expectMatches(mul(x, -3), ref.unary('identity', x64, -3), 'x * -3');
    await expectMatches(div(x, 4), ref.unary('identity', x64, 0.25), 'x / 4');
    await expectMatches(neg(x), ref.unary('identity', x64, -1), '-x');
  });
});

describe('unary elementwise ops match the reference', () => {
  const cases: [string, (x: Tensor) => Tensor, ref.UnaryOp, object][] = [
    ['relu', relu, 'relu', {}],
    ['exp', exp, 'exp', {}],
    ['log', log, 'log', { lo: 0.05, hi: 3 }],
    ['sqrt', sqrt, 'sqrt', { lo: 0.05, hi: 3 }],
  ];
  for (const [name, op, refOp, range] of cases) {
    it(`${name}: 20 random shapes`, async () => {
      const rng = rngFor(name);
      for (let trial = 0; trial < 20; trial++) {
        const shape = randomShape(rng, 1 + rng.int(4), 40);
        const d = data(rng, shape, range);
        await expectMatches(op(tensor(d, shape)), ref.unary(refOp, nd(d, shape)), `${name} ${JSON.stringify(shape)}`, {
          rtol: 2e-6,
        });
      }
    });
  }

  it('a large tensor that needs a two-dimensional workgroup grid', async () => {
    const n = 65535 * 256 + 1000;
    const d = new Float32Array(n).map((_, i) => (i % 7) - 3);
    const out = await relu(tensor(d, [n])).toArray();
    expect(out[n - 1]).toBe(Math.max(((n - 1) % 7) - 3, 0));
    expect(out.every((v, i) => v === Math.max(d[i], 0))).toBe(true);
  });

  it('a tensor long enough that each invocation walks 16 vec4s, the last one fewer: add, relu and accumulate', async () => {
    const n = 4 * 16 * 4096 + 4 * 37 + 3;
    const rng = rngFor('spans');
    const [da, db] = [data(rng, [n]), data(rng, [n])];
    const [a, b] = [tensor(da, [n]), tensor(db, [n])];
    await expectMatches(add(a, b), ref.binary('add', nd(da, [n]), nd(db, [n])), 'add over spans');
    await expectMatches(relu(a), ref.unary('relu', nd(da, [n])), 'relu over spans');
    accumulateInto(a, b);
    await expectMatches(a, ref.binary('add', nd(da, [n]), nd(db, [n])), 'accumulate over spans');
  });

  it('expand broadcasts like torch.expand', async () => {
    const x = tensor([1, 2, 3], [3, 1]);
    expect(Array.from(await expand(x, [2, 3, 4]).toArray())).toEqual([
      1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
    ]);
  });

  it("expand over trailing axes (a mean's gradient) repeats each value over its run, by the vec4 walk", async () => {
    const rng = rngFor('repeat');
    const { launched } = await launchesDuring(async () => {
      // Runs of 4-49 values, starting at every offset mod 4; leading dims merged.
      for (const [from, to] of [
        [
          [5, 1],
          [5, 4],
        ],
        [
          [3, 1],
          [3, 5],
        ],
        [
          [7, 1],
          [7, 7],
        ],
        [
          [2, 3, 1, 1],
          [2, 3, 7, 7],
        ],
        [
          [1, 1],
          [1, 9],
        ],
        [
          [0, 1],
          [0, 6],
        ],
      ]) {
        const d = randomData(
          rng,
          from.reduce((a, b) => a * b, 1),
        );
        await expectMatches(
          expand(tensor(d, from), to),
          ref.broadcastTo(nd(d, from), to),
          `expand ${JSON.stringify(from)} to ${JSON.stringify(to)}`,
        );
      }
    });
    expect(launched, 'the vec4 walk ran').toContain('elementwise:repeat4');
  });
});

describe('elementwise backward rules pass gradcheck', () => {
  for (const [name, op, refOp] of BINARY) {
    it(`${name} with broadcasting`, async () => {
      const rng = rngFor(`grad ${name}`);
      for (let trial = 0; trial < 4; trial++) {
        const [sa, sb] = broadcastPair(rng, 3, 4);
        await gradcheck(
          {
            name: `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
            inputs: [
              { data: data(rng, sa), shape: sa },
              { data: data(rng, sb, name === 'div' ? { gap: 0.5 } : {}), shape: sb },
            ],
            gpu: op,
            reference: (a: NDArray, b: NDArray) => ref.binary(refOp, a, b),
          },
          rng,
        );
      }
    });
  }
  const unary: [string, (x: Tensor) => Tensor, (x: NDArray) => NDArray, object][] = [
    ['relu', relu, (x) => ref.unary('relu', x), { gap: 0.05 }],
    ['exp', exp, (x) => ref.unary('exp', x), {}],
    ['log', log, (x) => ref.unary('log', x), { lo: 0.2, hi: 3 }],
    ['sqrt', sqrt, (x) => ref.unary('sqrt', x), { lo: 0.2, hi: 3 }],
    ['neg', neg, (x) => ref.unary('identity', x, -1), {}],
    ['scalar affine', (x) => add(mul(x, 3), 1), (x) => ref.unary('identity', x, 3, 1), {}],
    ['expand', (x) => expand(x, [3, 4, 5]), (x) => ref.broadcastTo(x, [3, 4, 5]), {}],
  ];
  for (const [name, op, refFn, range] of unary) {
    it(name, async () => {
      const rng = rngFor(`grad ${name}`);
      const shape = name === 'expand' ? [4, 1] : [3, 7];
      await gradcheck({ name, inputs: [{ data: data(rng, shape, range), shape }], gpu: op, reference: refFn }, rng);
    });
  }
});
