// Matrix products (kernels/matmul.wgsl): matmul(a, b) and linear(x, weight, bias), with
// the backward rules written as products with transposed operands, so no transpose is
// ever materialised.
import { record, releaseIntermediates } from '../autograd.js';
import { fmtShape, ResnextError, ShapeError } from '../errors.js';
import { grid, kernelContract, runtime, uniformStruct } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { add } from './elementwise.js';
import { MATMUL_A_PER_LANE, MATMUL_SUBGROUP_ROWS, subgroupsHere } from './subgroup_plan.js';
import { expectRank, expectTensor } from './validate.js';

/** kernels/matmul.wgsl: SIDE x SIDE invocations per workgroup, each a BLOCK x BLOCK block of C. */
const SIDE = 8;
const BLOCK = 4;
const TILE = SIDE * BLOCK;
const MATMUL_PARAMS = uniformStruct('MatmulParams', { M: 'u32', N: 'u32', K: 'u32' });
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
export function subgroupMatmulTiles(M: number, N: number, SG = launch().SG): number {
  return Math.ceil(M / MATMUL_SUBGROUP_ROWS) * Math.ceil(N / (4 * SG));
}

/** Whether kernels/matmul_subgroup.wgsl runs here: a fixed subgroup size it serves
 *  (src/ops/subgroup_plan.ts), portable kernels not asked for. */
export function subgroupMatmulRuns(): boolean {
  return subgroupsHere() !== null;
}

/** The subgroup launch, for callers that checked subgroupMatmulRuns(). */
function launch() {
  const plan = subgroupsHere();
  if (!plan)
    throw new ResnextError(
      'internal: kernels/matmul_subgroup.wgsl was dispatched on an adapter where subgroupMatmulRuns() is false; check it first',
    );
  return plan;
}

/** out = the batch of products `l` describes (no graph); K and N multiples of 4. */
export function subgroupMatmul(op: string, a: Tensor, b: Tensor, out: Tensor, l: MatmulLayout): void {
  const { SG, WG } = launch();
  const { outputs = 1, perOutput = 1, batches = outputs * perOutput } = l;
  const tiles = subgroupMatmulTiles(l.M, l.N, SG) * outputs;
  runtime().launch(op, {
    kernel: 'matmul_subgroup',
    constants: { WG, SG, TRANS_B: Number(l.transB ?? false) },
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
    grid: grid.items(tiles * SG, WG),
  });
}

/** op(a) @ op(b), where op transposes a 2-D operand when its flag is set. */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false, op = 'matmul'): Tensor {
  expectTensor(op, 'input', a);
  expectTensor(op, 'other', b);
  expectRank(op, 'input', a, 2);
  expectRank(op, 'other', b, 2);
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [Kb, N] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (K !== Kb) {
    throw new ShapeError(
      op,
      'other',
      `has shape ${fmtShape(b.shape)}${transB ? ' (transposed)' : ''}, which cannot multiply input of shape ${fmtShape(a.shape)}${transA ? ' (transposed)' : ''}: inner sizes ${K} and ${Kb} differ`,
    );
  }
  const out = empty([M, N]);
  if (M > 0 && N > 0 && K > 0 && !transA && !transB && K % 4 === 0 && N % 4 === 0 && subgroupMatmulRuns()) {
    subgroupMatmul(op, a, b, out, { M, N, K, aRow: K / 4, aK: 1, bK: N / 4 });
  } else if (M > 0 && N > 0) {
    runtime().launch(op, {
      kernel: 'matmul',
      constants: { TRANS_A: Number(transA), TRANS_B: Number(transB) },
      bind: { input: a, other: b, out },
      params: MATMUL_PARAMS.pack({ M, N, K }),
      grid: grid.tiles(N, M, TILE, TILE),
    });
  }
  return record(out, op, [a, b], (g) => [
    a.requiresGrad ? (transA ? mm(b, g, transB, true) : mm(g, b, false, !transB)) : null,
    b.requiresGrad ? (transB ? mm(g, a, true, transA) : mm(a, g, !transA, false)) : null,
  ]);
}

/** Matrix product of two 2-D tensors, like torch.matmul for matrices. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return mm(a, b);
}

/** x @ weight^T + bias, like torch.nn.functional.linear: x [N, in], weight [out, in], bias [out]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  expectTensor('linear', 'weight', weight);
  expectRank('linear', 'weight', weight, 2);
  if (x instanceof Tensor && x.rank === 2 && x.shape[1] !== weight.shape[1]) {
    throw new ShapeError(
      'linear',
      'input',
      `has shape ${fmtShape(x.shape)} but weight ${fmtShape(weight.shape)} expects ${weight.shape[1]} input features`,
    );
  }
  const y = mm(x, weight, false, true, 'linear');
  if (bias === null) return y;
  expectTensor('linear', 'bias', bias);
  if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0]) {
    throw new ShapeError('linear', 'bias', `has shape ${fmtShape(bias.shape)}, expected [${weight.shape[0]}]`);
  }
  const out = add(y, bias);
  releaseIntermediates(out, y);
  return out;
}
