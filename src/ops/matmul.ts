// Matrix products (kernels/matmul.wgsl): matmul(a, b) and linear(x, weight, bias), with
// the backward rules written as products with transposed operands, so no transpose is
// ever materialised.
import { record } from '../autograd.js';
import { fmtShape, ShapeError } from '../errors.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { add } from './elementwise.js';
import { expectRank, expectTensor } from './validate.js';

const TILE = 32; // kernels/matmul.wgsl: 8x8 invocations, each 4x4 outputs
/** kernels/matmul_subgroup.wgsl: invocations per workgroup, and rows of C per subgroup. */
const WG = 64;
const SUBGROUP_ROWS = 16;

/** op(a) @ op(b), where op transposes a 2-D operand when its flag is set. */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false, op = 'matmul'): Tensor {
  expectTensor(op, 'input', a);
  expectTensor(op, 'other', b);
  expectRank(op, 'input', a, 2);
  expectRank(op, 'other', b, 2);
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [Kb, N] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (K !== Kb) {
    throw new ShapeError(op, 'other', `has shape ${fmtShape(b.shape)}${transB ? ' (transposed)' : ''}, which cannot multiply input of shape ${fmtShape(a.shape)}${transA ? ' (transposed)' : ''}: inner sizes ${K} and ${Kb} differ`);
  }
  const out = empty([M, N]);
  const SG = runtime().report.subgroupSize;
  if (M > 0 && N > 0 && K > 0 && !transA && !transB && K % 4 === 0 && N % 4 === 0 && SG !== null && SG >= 8 && WG % SG === 0 && !runtime().portableKernels) {
    const tiles = Math.ceil(M / SUBGROUP_ROWS) * Math.ceil(N / (4 * SG));
    runtime().dispatch({
      kernel: 'matmul_subgroup',
      constants: { WG, SG, ROWS: SUBGROUP_ROWS },
      buffers: [a.buffer(op, 'input'), b.buffer(op, 'other'), out.buffer(op, 'out')],
      params: new Params().u32(M, N, K),
      workgroups: linearGrid(Math.ceil((tiles * SG) / WG)),
    });
  } else if (M > 0 && N > 0) {
    runtime().dispatch({
      kernel: 'matmul',
      constants: { TRANS_A: Number(transA), TRANS_B: Number(transB) },
      buffers: [a.buffer(op, 'input'), b.buffer(op, 'other'), out.buffer(op, 'out')],
      params: new Params().u32(M, N, K),
      workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)],
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
    throw new ShapeError('linear', 'input', `has shape ${fmtShape(x.shape)} but weight ${fmtShape(weight.shape)} expects ${weight.shape[1]} input features`);
  }
  const y = mm(x, weight, false, true, 'linear');
  if (bias === null) return y;
  expectTensor('linear', 'bias', bias);
  if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0]) {
    throw new ShapeError('linear', 'bias', `has shape ${fmtShape(bias.shape)}, expected [${weight.shape[0]}]`);
  }
  return add(y, bias);
}
