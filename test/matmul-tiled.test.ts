// The 'tiled' matmul variant (kernels/matmul_tiled.wgsl), forced and checked against the
// float64 reference forward and backward, with a check that its kernel is the one that ran
// (a forced variant that silently fell back could not fail); and the choice among the
// variants: forced, else tuned, else the default, the tuner leaving 'tiled' out on
// software adapters.
import { describe, expect, it } from 'vitest';
import { mul, runtime, sum, tensor, type Tensor } from '../src/index.js';
import { ResnextError } from '../src/errors.js';
import { mm } from '../src/ops/matmul.js';
import {
  applicableMatmulVariants,
  matmulTile,
  matmulTuningKey,
  TILED_BLOCK,
  tuneMatmul,
  withMatmulVariant,
  type MatmulShape,
  type MatmulVariant,
} from '../src/ops/matmul_variants.js';
import { whySubgroupsUnavailable } from '../src/ops/subgroup_plan.js';
import { matmul as refMatmul, nd, type NDArray } from '../src/reference/index.js';
import { assertClose, expectMatches, gradcheck, randomData, rngFor } from './helpers.js';

const TILED = 'matmul_tiled:main';
const KERNEL_OF: Record<MatmulVariant, string> = {
  portable: 'matmul:main',
  subgroup: 'matmul_subgroup:main',
  'subgroup-padded': 'matmul_subgroup:main',
  tiled: TILED,
};
const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

const abs = (x: NDArray): NDArray => ({ data: x.data.map(Math.abs), shape: x.shape });
const shapeOf = (s: MatmulShape) => ({ a: s.transA ? [s.K, s.M] : [s.M, s.K], b: s.transB ? [s.N, s.K] : [s.K, s.N] });
const describeShape = (s: MatmulShape) => `${s.M}x${s.K}x${s.N} transA=${s.transA} transB=${s.transB}`;

/** The matmul kernels `body` dispatches, one entry per dispatch (grouped by kernel). */
async function matmulKernelsOf(body: () => unknown): Promise<string[]> {
  runtime().startProfile();
  let failure: { error: unknown } | null = null;
  try {
    await body();
  } catch (error) {
    failure = { error };
  }
  // Stopped either way, so that one failing check does not leave the profiler running.
  const rows = await runtime().stopProfile();
  if (failure) throw failure.error;
  return rows.filter((r) => r.kernel.startsWith('matmul')).flatMap((r) => Array<string>(r.calls).fill(r.kernel));
}

/** mm on `s` (inside whatever variant is forced around it) against the reference. */
async function checkProduct(s: MatmulShape, rng = rngFor(describeShape(s))): Promise<void> {
  const { a: sa, b: sb } = shapeOf(s);
  const [da, db] = [randomData(rng, s.M * s.K), randomData(rng, s.K * s.N)];
  const [a, b] = [nd(da, sa), nd(db, sb)];
  const scale = refMatmul(abs(a), abs(b), s.transA, s.transB).data;
  const out = mm(tensor(da, sa), tensor(db, sb), s.transA, s.transB);
  await expectMatches(out, refMatmul(a, b, s.transA, s.transB), describeShape(s), { rtol: 1e-6, scale });
}

/** [M, K, N]: odd sizes, one row, one column, one depth step, more than one tile along
 *  every dimension (64-row tiles, 64 columns beside them, 16 depth steps), a one-row-tile
 *  product wider than its 256-column tile, and rows over two tiles. */
const SHAPES = [
  [3, 5, 7],
  [1, 9, 33],
  [33, 9, 1],
  [1, 1, 1],
  [7, 1, 9],
  [70, 37, 67],
  [5, 16, 300],
  [130, 3, 2],
] as const;

const allShapes = (): MatmulShape[] =>
  SHAPES.flatMap(([M, K, N]) => TRANSPOSES.map(([transA, transB]) => ({ M, K, N, transA, transB })));

describe('the tiled matmul, forced, matches the float64 reference', () => {
  it(`forward over ${SHAPES.length} shapes and the four transpose combinations`, { timeout: 120_000 }, async () => {
    const ran = await matmulKernelsOf(() =>
      withMatmulVariant('tiled', async () => {
        for (const s of allShapes()) await checkProduct(s);
      }),
    );
    expect(ran.length, 'one dispatch per product').toBe(allShapes().length);
    expect(new Set(ran), 'only the tiled kernel ran').toEqual(new Set([TILED]));
  });

  it.each(TRANSPOSES)('backward through mm passes gradcheck (transA=%s transB=%s)', async (transA, transB) => {
    // K over one 16-deep step; each gradient is itself a product on the tiled kernel.
    const s = { M: 5, K: 19, N: 6, transA, transB };
    const { a: sa, b: sb } = shapeOf(s);
    const rng = rngFor(`tiled grad ${describeShape(s)}`);
    const ran = await matmulKernelsOf(() =>
      withMatmulVariant('tiled', () =>
        gradcheck(
          {
            name: `tiled mm ${describeShape(s)}`,
            inputs: [
              { data: randomData(rng, s.M * s.K), shape: sa },
              { data: randomData(rng, s.K * s.N), shape: sb },
            ],
            gpu: (a, b) => mm(a, b, transA, transB),
            reference: (a, b) => refMatmul(a, b, transA, transB),
          },
          rng,
        ),
      ),
    );
    expect(ran, 'forward, grad of A, grad of B, all tiled').toEqual([TILED, TILED, TILED]);
  });

  it.each(TRANSPOSES)('backward over several tiles in every dimension (transA=%s transB=%s)', async (tA, tB) => {
    const s = { M: 70, K: 37, N: 67, transA: tA, transB: tB };
    const { a: sa, b: sb } = shapeOf(s);
    const rng = rngFor(`tiled big grad ${describeShape(s)}`);
    const [da, db, dg] = [randomData(rng, s.M * s.K), randomData(rng, s.K * s.N), randomData(rng, s.M * s.N)];
    const [a, b] = [tensor(da, sa, { requiresGrad: true }), tensor(db, sb, { requiresGrad: true })];
    const ran = await matmulKernelsOf(() =>
      withMatmulVariant('tiled', () => sum(mul(mm(a, b, tA, tB), tensor(dg, [s.M, s.N]))).backward()),
    );
    expect(ran, 'forward, grad of A, grad of B, all tiled').toEqual([TILED, TILED, TILED]);
    // d op(A) = G op(B)^T and d op(B) = op(A)^T G, written out per element in float64.
    const [ga, gb] = [new Float64Array(da.length), new Float64Array(db.length)];
    const aIndex = (m: number, k: number) => (tA ? k * s.M + m : m * s.K + k);
    const bIndex = (k: number, n: number) => (tB ? n * s.K + k : k * s.N + n);
    for (let m = 0; m < s.M; m++)
      for (let k = 0; k < s.K; k++)
        for (let n = 0; n < s.N; n++) {
          ga[aIndex(m, k)] += dg[m * s.N + n] * db[bIndex(k, n)];
          gb[bIndex(k, n)] += da[aIndex(m, k)] * dg[m * s.N + n];
        }
    assertClose(await (a.grad as Tensor).toArray(), ga, `d input ${describeShape(s)}`, { rtol: 1e-4, atol: 1e-4 });
    assertClose(await (b.grad as Tensor).toArray(), gb, `d other ${describeShape(s)}`, { rtol: 1e-4, atol: 1e-4 });
  });
});

describe('the tiled matmul plans within the default limits', () => {
  it('every tile fits 256 invocations and 16 KiB of workgroup memory, in whole blocks', () => {
    for (const M of [1, 3, 4, 5, 17, 64, 65, 1024])
      for (const N of [1, 9, 16, 100, 1024, 1 << 20]) {
        const { BM, BN, BK } = matmulTile(M, N);
        expect((BM / TILED_BLOCK) * (BN / TILED_BLOCK), `${M}x${N}`).toBeLessThanOrEqual(256);
        expect(BK * (BM + BN) * 4, `${M}x${N}`).toBeLessThanOrEqual(16384);
        expect([BM % TILED_BLOCK, BN % TILED_BLOCK], `${M}x${N}`).toEqual([0, 0]);
      }
    expect(matmulTile(1024, 1024), 'the classic 64 x 64 tile, 16 deep').toEqual({ BM: 64, BN: 64, BK: 16 });
  });
});

describe('the choice of matmul kernel', () => {
  const subgroupsMissing = whySubgroupsUnavailable();

  it('on a software adapter, the tuner does not time the tiled kernel (built for GPUs)', async () => {
    const s = { M: 12, K: 8, N: 20, transA: false, transB: false };
    const timed = applicableMatmulVariants(s).map((v) => v.name);
    expect(timed).toContain('portable');
    expect(timed.includes('tiled')).toBe(!runtime().report.software);
    expect(timed.includes('subgroup')).toBe(!subgroupsMissing);
    const decided = await tuneMatmul([s]);
    if (timed.length < 2) {
      expect(decided, 'one candidate: nothing to time').toEqual([]);
      return;
    }
    expect(decided).toHaveLength(1);
    expect(Object.keys(decided[0].ms)).toEqual(timed);
    expect(runtime().tuning.get(matmulTuningKey(s))).toBe(decided[0].choice);
    expect(await tuneMatmul([s]), 'a second tuning finds the choice made').toEqual([]);
  });

  const forcible: MatmulVariant[] = subgroupsMissing ? ['portable', 'tiled'] : ['portable', 'subgroup', 'tiled'];
  it.each(forcible)('forced %s, the product runs on its kernel and matches the reference', async (variant) => {
    const s = { M: 9, K: 12, N: 8, transA: false, transB: false };
    expect(await matmulKernelsOf(() => withMatmulVariant(variant, () => checkProduct(s)))).toEqual([
      KERNEL_OF[variant],
    ]);
  });

  it('a forced variant that does not apply falls back (the subgroup kernel takes no transposes)', async () => {
    const s = { M: 9, K: 12, N: 8, transA: true, transB: false };
    expect(await matmulKernelsOf(() => withMatmulVariant('subgroup', () => checkProduct(s)))).toEqual([
      KERNEL_OF.portable,
    ]);
  });

  it("the tuner's stored choice runs, and a forced variant overrides it", async () => {
    const s = { M: 6, K: 10, N: 14, transA: false, transB: true };
    const key = matmulTuningKey(s);
    expect(runtime().tuning.get(key)).toBeUndefined();
    runtime().tuning.set(key, 'tiled');
    expect(await matmulKernelsOf(() => checkProduct(s))).toEqual([TILED]);
    expect(await matmulKernelsOf(() => withMatmulVariant('portable', () => checkProduct(s)))).toEqual([
      KERNEL_OF.portable,
    ]);
  });

  it('names the variants there are when asked for one that is not', () => {
    expect(() => withMatmulVariant('blocked' as MatmulVariant, () => 0)).toThrow(ResnextError);
    expect(() => withMatmulVariant('blocked' as MatmulVariant, () => 0)).toThrow(/portable, subgroup, tiled/);
  });
});
