import { describe, expect, it } from 'vitest';
import { checkRandomMatmuls } from './matmul-cases.js';
import { linear, matmul, runtime, tensor } from '../src/index.js';
import { mm } from '../src/ops/matmul.js';
import { subgroupsHere, whySubgroupsUnavailable } from '../src/ops/subgroup_plan.js';
import { elementwise, matmul as refMatmul, nd, type NDArray } from '../src/reference/index.js';
import { expectMatches, gradcheck, randomData, rngFor } from './helpers.js';

const abs = (x: NDArray): NDArray => ({ data: x.data.map(Math.abs), shape: x.shape });

describe('matmul matches the reference', () => {
  it('60 random sizes with every transpose combination', async () => {
    await checkRandomMatmuls(rngFor('matmul'), 60);
  });

  // K and N multiples of 4, which the subgroup kernel takes: rows not a multiple of its
  // tile's 32 (and more than one tile of them), columns not a multiple of its 4 x SG (for
  // every SG from 4 on), one row, one k step.
  const SUBGROUP_SHAPES = [
    [13, 8, 36],
    [1, 4, 4],
    [40, 20, 68],
    [9, 64, 8],
  ];
  /** Each shape's product on the kernel `portable` forces (or releases), against the
   *  reference; returns the kernels that ran. */
  async function checkForced(portable: boolean, label: string): Promise<string[]> {
    const rng = rngFor(`matmul ${label}`);
    const before = runtime().portableKernels;
    runtime().portableKernels = portable;
    runtime().startProfile();
    try {
      for (const [M, K, N] of SUBGROUP_SHAPES) {
        const [da, db] = [randomData(rng, M * K), randomData(rng, K * N)];
        const [a, b] = [nd(da, [M, K]), nd(db, [K, N])];
        const scale = refMatmul(abs(a), abs(b)).data;
        await expectMatches(
          matmul(tensor(da, [M, K]), tensor(db, [K, N])),
          refMatmul(a, b),
          `matmul ${M}x${K}x${N} (${label})`,
          { rtol: 1e-6, scale },
        );
      }
    } finally {
      runtime().portableKernels = before;
    }
    return (await runtime().stopProfile()).map((r) => r.kernel);
  }
  const unavailable = whySubgroupsUnavailable();
  it.skipIf(unavailable)(
    `the subgroup kernel agrees with the reference${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    async () => {
      expect(await checkForced(false, 'subgroup kernel'), 'the subgroup kernel ran').toEqual(['matmul_subgroup:main']);
    },
  );
  // Rows 1024 floats (4 KiB) apart alias in the cache: 'subgroup-padded', first in the
  // default order, copies A's rows 16 floats apart where 16 or more column tiles of 4 x SG
  // read A (N >= 1024 for SG up to 16), and B's too where 16 row tiles of 32 read B.
  // [M, K, N, operands copied].
  const ALIASING_SHAPES = [
    [5, 1024, 1028, 1],
    [512, 1024, 1024, 2],
    [3, 8, 1024, 0],
    [3, 1024, 64, 0],
  ];
  const SG = subgroupsHere()?.SG ?? 0;
  const wide = SG > 16 ? `subgroups of ${SG} need wider products than these` : null;
  it.skipIf(unavailable || wide)(
    `rows 4 KiB apart are copied apart first, with the same products${wide ? ` (skipped: ${wide})` : ''}`,
    async () => {
      const rng = rngFor('matmul aliasing rows');
      for (const [M, K, N, copies] of ALIASING_SHAPES) {
        const [da, db] = [randomData(rng, M * K), randomData(rng, K * N)];
        const [a, b] = [nd(da, [M, K]), nd(db, [K, N])];
        runtime().startProfile();
        const out = matmul(tensor(da, [M, K]), tensor(db, [K, N]));
        const ran = (await runtime().stopProfile()).map((r) => `${r.kernel} x${r.calls}`).sort();
        const label = `matmul ${M}x${K}x${N}`;
        expect(ran, label).toEqual([...(copies ? [`fill:pad4 x${copies}`] : []), 'matmul_subgroup:main x1']);
        // A misplaced row is off by O(1); float32 sums of 1024 terms within 1e-3.
        await expectMatches(out, refMatmul(a, b), label, { rtol: 1e-5, atol: 1e-3 });
      }
    },
  );
  it('the portable kernel, forced, agrees with the reference on the same shapes', async () => {
    expect(await checkForced(true, 'portable kernel'), 'the portable kernel ran').toEqual(['matmul:main']);
  });

  it('linear = x @ W^T + b', async () => {
    const rng = rngFor('linear');
    const [n, fin, fout] = [7, 33, 5];
    const x = randomData(rng, n * fin);
    const w = randomData(rng, fout * fin);
    const b = randomData(rng, fout);
    const expected = elementwise.binary(
      'add',
      refMatmul(nd(x, [n, fin]), nd(w, [fout, fin]), false, true),
      nd(b, [fout]),
    );
    await expectMatches(linear(tensor(x, [n, fin]), tensor(w, [fout, fin]), tensor(b, [fout])), expected, 'linear', {
      rtol: 1e-5,
      atol: 1e-5,
    });
  });
});

describe('matmul backward passes gradcheck', () => {
  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ]) {
    it(`transA=${transA} transB=${transB}`, async () => {
      const rng = rngFor(`grad mm ${transA} ${transB}`);
      const [M, K, N] = [5, 3, 6];
      const sa = transA ? [K, M] : [M, K];
      const sb = transB ? [N, K] : [K, N];
      await gradcheck(
        {
          name: `mm tA=${transA} tB=${transB}`,
          inputs: [
            { data: randomData(rng, M * K), shape: sa },
            { data: randomData(rng, K * N), shape: sb },
          ],
          gpu: (a, b) => mm(a, b, transA, transB),
          reference: (a, b) => refMatmul(a, b, transA, transB),
        },
        rng,
      );
    });
  }

  it('matmul and linear with bias', async () => {
    const rng = rngFor('grad linear');
    await gradcheck(
      {
        name: 'linear',
        inputs: [
          { data: randomData(rng, 12), shape: [4, 3] },
          { data: randomData(rng, 6), shape: [2, 3] },
          { data: randomData(rng, 2), shape: [2] },
        ],
        gpu: (x, w, b) => linear(x, w, b),
        reference: (x, w, b) => elementwise.binary('add', refMatmul(x, w, false, true), b),
      },
      rng,
    );
    await gradcheck(
      {
        name: 'matmul',
        inputs: [
          { data: randomData(rng, 6), shape: [2, 3] },
          { data: randomData(rng, 12), shape: [3, 4] },
        ],
        gpu: matmul,
        reference: (a, b) => refMatmul(a, b),
      },
      rng,
    );
  });
});
