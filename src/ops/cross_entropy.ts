// Cross-entropy over class logits (kernels/cross_entropy.wgsl): log-softmax and the
// negative log-likelihood fused in one pass forward and one pass backward, averaged
// over the batch like torch.nn.functional.cross_entropy(reduction='mean').
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { grid, kernelContract, runtime, uniformStruct, type Runtime } from '../runtime/index.js';
import { empty, fromData, Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { expectRank, expectTensor } from './validate.js';

const WG = 64;

/** rows of `classes` logits; backward scales the gradient by `scale` (1 / rows: the mean). */
const CROSS_ENTROPY_PARAMS = uniformStruct('CrossEntropyParams', { rows: 'u32', classes: 'u32', scale: 'f32' });
kernelContract('cross_entropy', { structs: [CROSS_ENTROPY_PARAMS] });

/** logits [N, classes]; targets: N class indices in [0, classes). Returns the mean loss (a scalar). */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>): Tensor {
  const op = 'crossEntropy';
  expectTensor(op, 'input', logits);
  expectRank(op, 'input', logits, 2);
  const [rows, classes] = logits.shape;
  const labels = classIndices(op, logits, targets);
  const rt = runtime();
  // The labels travel as the raw bits of a tensor, so the graph owns them like any saved tensor.
  const labelBits = fromData(new Float32Array(labels.buffer), [rows]);
  const perRow = empty([rows]);
  const logSumExp = empty([rows]);
  rt.launch(op, {
    kernel: 'cross_entropy',
    entry: 'forward',
    constants: { WG },
    bind: { input: logits, target: labelBits, loss: perRow, lse: logSumExp },
    params: CROSS_ENTROPY_PARAMS.pack({ rows, classes, scale: 1 }),
    grid: grid.items(rows, WG),
  });
  const loss = mean(perRow);
  perRow.dispose();
  return record(loss, op, [logits], { saved: [labelBits, logSumExp] }, (g) => [
    backward(rt, logits, labelBits, logSumExp, g),
  ]);
}

/** The targets as class indices: one per row of logits, each in [0, classes). */
function classIndices(op: string, logits: Tensor, targets: ArrayLike<number>): Uint32Array {
  const [rows, classes] = logits.shape;
  if (targets?.length !== rows) {
    throw new ShapeError(
      op,
      'target',
      `has ${targets?.length ?? 'no'} labels but input ${fmtShape(logits.shape)} has ${rows} rows`,
    );
  }
  if (rows === 0 || classes === 0)
    throw new ShapeError(op, 'input', `has shape ${fmtShape(logits.shape)}; needs at least one row and one class`);
  return Uint32Array.from(targets, (t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= classes)
      throw new ArgumentError(op, 'target', `[${i}] = ${t} is not a class index in [0, ${classes})`);
    return t;
  });
}

/** d logits = (softmax - onehot(target)) * dloss / rows. */
function backward(rt: Runtime, logits: Tensor, labelBits: Tensor, logSumExp: Tensor, g: Tensor): Tensor {
  const op = 'crossEntropy';
  const [rows, classes] = logits.shape;
  const grad = empty(logits.shape);
  rt.launch(op, {
    kernel: 'cross_entropy',
    entry: 'backward',
    constants: { WG },
    bind: { input: logits, target: labelBits, lse: logSumExp, grad: g, grad_input: grad },
    params: CROSS_ENTROPY_PARAMS.pack({ rows, classes, scale: 1 / rows }),
    grid: grid.items(logits.size, WG),
  });
  return grad;
}
