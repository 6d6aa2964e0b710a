// Matrix products: matmul(a, b) and linear(x, weight, bias), with the backward rules
// written as products with transposed operands, so no transpose is ever materialised.
// Which kernel computes a product (subgroup, portable or tiled) is matmul_variants.ts's choice.
import { record, releaseIntermediates } from '../autograd.js';
import { fmtShape, ShapeError } from '../errors.js';
import { empty, Tensor } from '../tensor.js';
import { add } from './elementwise.js';
import { chooseMatmulVariant } from './matmul_variants.js';
import { expectRank, expectTensor } from './validate.js';

// The subgroup kernel's batched form, which 1x1 convolutions dispatch directly.
export { subgroupMatmul, subgroupMatmulRuns, subgroupMatmulTiles, type MatmulLayout } from './matmul_variants.js';

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
  const shape = { M, K, N, transA, transB };
  // An empty product has nothing to compute (K = 0 is computed: C is then all zeros).
  if (M > 0 && N > 0) chooseMatmulVariant(shape).run(op, a, b, out, shape);
  return record(out, op, [a, b], { reads: [a, b] }, (g) => [
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
