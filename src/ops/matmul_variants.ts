// The kernels a matrix product can run on, and the one place its kernel is chosen
// (chooseMatmulVariant), in the shape conv2d's registry has (src/ops/conv2d/registry.ts):
// 'subgroup' (kernels/matmul_subgroup.wgsl), 'subgroup-padded' (the same on operands whose
// rows are copied apart, where their stride would alias in the cache), 'portable'
// (kernels/matmul.wgsl) and 'tiled' (kernels/matmul_tiled.wgsl, the workgroup-tiled SGEMM
// built for discrete GPUs). Each variant says where it applies; the choice is the forced
// one, else the tuner's, else the default order. tuneMatmul times them. The op itself
// (checks, backward) is matmul.ts.
import { randn } from '../creation.js';
import { ResnextError } from '../errors.js';
import { Generator } from '../random.js';
import { grid, kernelContract, runtime, uniformStruct } from '../runtime/index.js';
import { empty, type Tensor } from '../tensor.js';
import { padLast } from './fill.js';
import { MATMUL_A_PER_LANE, MATMUL_SUBGROUP_ROWS, subgroupsHere } from './subgroup_plan.js';
import {
  ForcedChoices,
  preferredFirst,
  timedOnAdapter,
  tune,
  tunedChoice,
  tuningKey,
  type KeyedCandidate,
  type Tuned,
} from './tuner.js';
import { TILE_BLOCK, workgroupTile, type WorkgroupTile } from './workgroup_tile.js';

/** One product: C[M, N] = op(A) op(B), op transposing an operand whose flag is set. */
export interface MatmulShape {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
}

/** kernels/matmul.wgsl and kernels/matmul_tiled.wgsl read the sizes alone. */
const MATMUL_PARAMS = uniformStruct('MatmulParams', { M: 'u32', N: 'u32', K: 'u32' });

/** kernels/matmul.wgsl: SIDE x SIDE invocations per workgroup, each a PORTABLE_BLOCK square of C. */
const SIDE = 8;
const PORTABLE_BLOCK = 4;
const PORTABLE_TILE = SIDE * PORTABLE_BLOCK;
kernelContract('matmul', { structs: [MATMUL_PARAMS], consts: { SIDE } });

/** kernels/matmul_subgroup.wgsl: the fields of MatmulLayout (strides in vec4s). */
const MATMUL_BATCH_PARAMS = uniformStruct('MatmulBatchParams', {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  a_row: 'u32',
  a_k: 'u32',
  b_k: 'u32',
  a_batch: 'u32',
  b_batch: 'u32',
  outputs: 'u32',
  per_output: 'u32',
  batches: 'u32',
});
kernelContract('matmul_subgroup', {
  structs: [MATMUL_BATCH_PARAMS],
  consts: { ROWS: MATMUL_SUBGROUP_ROWS, A_PER_LANE: MATMUL_A_PER_LANE },
});

/** kernels/matmul_tiled.wgsl: rows and columns of the block of C each invocation sums. */
export const TILED_BLOCK = TILE_BLOCK;
kernelContract('matmul_tiled', { structs: [MATMUL_PARAMS], consts: { BLOCK: TILED_BLOCK } });

/** A batch of products for kernels/matmul_subgroup.wgsl: strides in vec4s. */
export interface MatmulLayout {
  M: number;
  N: number;
  K: number;
  aRow: number;
  aK: number;
  bK: number;
  transB?: boolean;
  aBatch?: number;
  bBatch?: number;
  /** Products summed into each output, the outputs (C's batch), and the products in all
   *  (the last output may sum fewer). */
  perOutput?: number;
  outputs?: number;
  batches?: number;
}

/** Subgroup tiles of kernels/matmul_subgroup.wgsl that cover one M x N product, for
 *  subgroups of SG lanes: MATMUL_SUBGROUP_ROWS rows by 4 * SG columns each. */
export function subgroupMatmulTiles(M: number, N: number, SG = subgroupLaunch().SG): number {
  return Math.ceil(M / MATMUL_SUBGROUP_ROWS) * Math.ceil(N / (4 * SG));
}

/** Whether kernels/matmul_subgroup.wgsl runs here: a fixed subgroup size it serves
 *  (src/ops/subgroup_plan.ts), portable kernels not asked for. */
export function subgroupMatmulRuns(): boolean {
  return subgroupsHere() !== null;
}

/** The subgroup launch, for callers that checked subgroupMatmulRuns(). */
function subgroupLaunch() {
  const plan = subgroupsHere();
  if (!plan)
    throw new ResnextError(
      'internal: kernels/matmul_subgroup.wgsl was dispatched on an adapter where subgroupMatmulRuns() is false; check it first',
    );
  return plan;
}

/** out = the batch of products `l` describes (no graph); K and N multiples of 4. */
export function subgroupMatmul(op: string, a: Tensor, b: Tensor, out: Tensor, l: MatmulLayout): void {
  const { SG } = subgroupLaunch();
  const { outputs = 1, perOutput = 1, batches = outputs * perOutput } = l;
  const tiles = subgroupMatmulTiles(l.M, l.N, SG) * outputs;
  runtime().launch(op, {
    kernel: 'matmul_subgroup',
    constants: { SG, TRANS_B: Number(l.transB ?? false) },
    bind: { input: a, other: b, out },
    params: MATMUL_BATCH_PARAMS.pack({
      M: l.M,
      N: l.N,
      K: l.K,
      a_row: l.aRow,
      a_k: l.aK,
      b_k: l.bK,
      a_batch: l.aBatch ?? 0,
      b_batch: l.bBatch ?? 0,
      outputs,
      per_output: perOutput,
      batches,
    }),
    // A workgroup of one subgroup per tile (the kernel says why).
    grid: grid.rows(tiles),
  });
}

export type MatmulTile = WorkgroupTile;

/** The tiled kernel's tile for an M x N product (src/ops/workgroup_tile.ts). */
export const matmulTile = (M: number, N: number): MatmulTile => workgroupTile(M, N, 'matmul');

/** What choosing a variant needs to know of the adapter. */
interface MatmulAdapter {
  subgroups: boolean;
  /** A CPU/software adapter (lavapipe, SwiftShader), where workgroup memory and barriers are dear. */
  software: boolean;
}

const adapterHere = (): MatmulAdapter => ({ subgroups: subgroupMatmulRuns(), software: runtime().report.software });

/** One kernel a product can run on. */
export interface MatmulVariantDef<Name extends string = string> extends KeyedCandidate {
  readonly name: Name;
  /** Whether it computes `s` (M, N > 0) on `adapter`. */
  applies(s: MatmulShape, adapter: MatmulAdapter): boolean;
  /** Records out = op(a) op(b) (no graph). */
  run(op: string, a: Tensor, b: Tensor, out: Tensor, s: MatmulShape): void;
}

const portable: MatmulVariantDef<'portable'> = {
  name: 'portable',
  kernels: ['matmul'],
  applies: () => true,
  run(op, a, b, out, { M, N, K, transA, transB }) {
    runtime().launch(op, {
      kernel: 'matmul',
      constants: { TRANS_A: Number(transA), TRANS_B: Number(transB) },
      bind: { input: a, other: b, out },
      params: MATMUL_PARAMS.pack({ M, N, K }),
      grid: grid.tiles(N, M, PORTABLE_TILE, PORTABLE_TILE),
    });
  },
};

const subgroup: MatmulVariantDef<'subgroup'> = {
  name: 'subgroup',
  kernels: ['matmul_subgroup'],
  // Row-major operands read as whole vec4s along K and N.
  applies: (s, adapter) => adapter.subgroups && !s.transA && !s.transB && s.K > 0 && s.K % 4 === 0 && s.N % 4 === 0,
  run: (op, a, b, out, s) => rowMajorProduct(op, a, b, out, s),
};

/** out = a b on the subgroup kernel, a and b row-major with rows as long as their last
 *  dimension (at least K and N: a padded copy's are longer). */
function rowMajorProduct(op: string, a: Tensor, b: Tensor, out: Tensor, { M, N, K }: MatmulShape): void {
  subgroupMatmul(op, a, b, out, { M, N, K, aRow: a.shape[1] / 4, aK: 1, bK: b.shape[1] / 4 });
}

/** Row strides that are multiples of this many floats (4 KiB) put every row of a tile in the
 *  same set of a CPU's L1 cache (64-byte lines, 64 sets), where 32 rows evict each other. */
const ALIASING_ROW = 1024;
/** Rows padded by a cache line's worth of floats: each then starts in the next set. */
const ROW_PADDING = 16;
/** An operand is copied only where at least this many tiles read it: a copy costs about one
 *  read of it (docs/kernels.md has the measurements behind this). */
const MIN_READS = 16;

/** Which operands 'subgroup-padded' copies for `s`: A where its rows alias and enough
 *  column tiles read it; B as well where its rows alias and enough row tiles read it. A's
 *  32 rows a step are what collide; B's alone cost little (copied without A, 1024x512x1024
 *  ran 1.01x, 1024x64x1024 0.91x). */
function paddedOperands({ M, K, N }: MatmulShape, SG: number) {
  const a = K % ALIASING_ROW === 0 && Math.ceil(N / (4 * SG)) >= MIN_READS;
  const b = a && N % ALIASING_ROW === 0 && Math.ceil(M / MATMUL_SUBGROUP_ROWS) >= MIN_READS;
  return { a, b };
}

const subgroupPadded: MatmulVariantDef<'subgroup-padded'> = {
  name: 'subgroup-padded',
  kernels: ['matmul_subgroup', 'fill'],
  applies: (s, adapter) => subgroup.applies(s, adapter) && paddedOperands(s, subgroupLaunch().SG).a,
  run(op, a, b, out, s) {
    // A is copied wherever this applies; B where its rows alias as well.
    const ap = padLast(op, a, s.K + ROW_PADDING);
    const bp = paddedOperands(s, subgroupLaunch().SG).b ? padLast(op, b, s.N + ROW_PADDING) : b;
    rowMajorProduct(op, ap, bp, out, s);
    ap.dispose();
    if (bp !== b) bp.dispose();
  },
};

const tiled: MatmulVariantDef<'tiled'> = {
  name: 'tiled',
  kernels: ['matmul_tiled'],
  // On lavapipe a shared-memory SGEMM runs several times slower than the register-blocked
  // kernels (docs/kernels.md): timing it there only costs tuning time.
  tunedOnHardwareOnly: true,
  applies: () => true,
  run(op, a, b, out, { M, N, K, transA, transB }) {
    const tile = matmulTile(M, N);
    runtime().launch(op, {
      kernel: 'matmul_tiled',
      constants: { TRANS_A: Number(transA), TRANS_B: Number(transB), ...tile },
      bind: { input: a, other: b, out },
      params: MATMUL_PARAMS.pack({ M, N, K }),
      grid: grid.tiles(N, M, tile.BN, tile.BM),
    });
  },
};

/** Every variant. Their names enter the tuning keys in this order: append new ones. */
const VARIANTS = [portable, subgroup, tiled, subgroupPadded] as const;

export type MatmulVariant = (typeof VARIANTS)[number]['name'];

const NAMES: readonly MatmulVariant[] = VARIANTS.map((v) => v.name);

/** The order variants are preferred in where nothing was forced or tuned (the first that
 *  applies runs; portable always does) and timed in, before the rest of VARIANTS. */
const DEFAULT_ORDER: readonly MatmulVariant[] = ['subgroup-padded', 'subgroup', 'portable'];

const variantNamed = (name: MatmulVariant): MatmulVariantDef<MatmulVariant> => {
  const variant = VARIANTS.find((v) => v.name === name);
  if (!variant) throw new ResnextError(`matmul: no kernel variant named '${name}' (there are ${NAMES.join(', ')})`);
  return variant;
};

/** Variants forced by withMatmulVariant. */
const forced = new ForcedChoices<MatmulVariant>();

/** Runs `body` with every matrix product on `variant` where it applies (else as without),
 *  until the promise it returns settles if it returns one (a test's backward runs after
 *  an await). */
export function withMatmulVariant<T>(variant: MatmulVariant, body: () => T): T {
  variantNamed(variant); // a misspelt name fails here, not silently at the first product
  return forced.during(variant, body);
}

/** The shape part of a tuning key. */
export const matmulSubject = ({ M, K, N, transA, transB }: MatmulShape) =>
  `matmul ${M}x${K}x${N} transA=${transA} transB=${transB}`;

/** The tuning key of `s`: its shape, every variant's kernels and names. */
export const matmulTuningKey = (s: MatmulShape) => tuningKey(matmulSubject(s), VARIANTS);

/** The variants the tuner times for `s` on this adapter: those that apply, DEFAULT_ORDER
 *  first, then the rest of VARIANTS; on a software adapter, none tuned on hardware only. */
export function applicableMatmulVariants(s: MatmulShape): MatmulVariantDef<MatmulVariant>[] {
  const adapter = adapterHere();
  const ordered = preferredFirst(DEFAULT_ORDER, NAMES).map(variantNamed);
  return ordered.filter((v) => v.applies(s, adapter) && timedOnAdapter(v, adapter.software));
}

/**
 * The variant `s` runs on, read top-down:
 * 1. the innermost withMatmulVariant's, if it applies;
 * 2. else the tuner's stored choice for this shape, if it applies;
 * 3. else the first that applies in DEFAULT_ORDER (portable always does).
 */
export function chooseMatmulVariant(s: MatmulShape): MatmulVariantDef<MatmulVariant> {
  const adapter = adapterHere();
  const runs = (name: MatmulVariant | undefined) => {
    const variant = name === undefined ? undefined : variantNamed(name);
    return variant?.applies(s, adapter) ? variant : undefined;
  };
  return (
    runs(forced.innermost) ??
    runs(tunedChoice(matmulTuningKey(s), NAMES)) ??
    DEFAULT_ORDER.map(runs).find((v) => v !== undefined) ??
    portable
  );
}

export type TunedMatmul = Tuned<MatmulVariant>;

/** Times the variants that apply to each shape (M, N > 0) with no stored choice, where two
 *  or more do, and keeps the fastest in runtime().tuning. Returns what it decided. */
export async function tuneMatmul(shapes: readonly MatmulShape[]): Promise<TunedMatmul[]> {
  const decided: TunedMatmul[] = [];
  for (const s of shapes) {
    const key = matmulTuningKey(s);
    const candidates = applicableMatmulVariants(s);
    if (runtime().tuning.get(key) !== undefined || candidates.length < 2 || s.M === 0 || s.N === 0) continue;
    // Its own generator: tuning must not move the draws of the caller's random streams.
    const generator = new Generator(0);
    const a = randn(s.transA ? [s.K, s.M] : [s.M, s.K], { generator });
    const b = randn(s.transB ? [s.N, s.K] : [s.K, s.N], { generator });
    const timed = candidates.map((variant) => ({
      name: variant.name,
      run: () => {
        const out = empty([s.M, s.N]);
        variant.run('matmul', a, b, out, s);
        out.dispose();
      },
    }));
    try {
      const result = await tune(key, timed);
      if (result) decided.push(result);
    } finally {
      [a, b].forEach((t) => t.dispose());
    }
  }
  return decided;
}
