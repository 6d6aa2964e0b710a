// Cross-entropy over class logits (kernels/cross_entropy.wgsl): log-softmax and the
// negative log-likelihood fused in one pass forward and one pass backward, averaged
// over the batch like torch.nn.functional.cross_entropy(reduction='mean').
import { isGradEnabled, record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import { empty, fromData, Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { expectRank, expectTensor } from './validate.js';

const WG = 64;

/** logits [N, classes]; targets: N class indices in [0, classes). Returns the mean loss (a scalar). */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>): Tensor {
  const op = 'crossEntropy';
  expectTensor(op, 'input', logits);
  expectRank(op, 'input', logits, 2);
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
  const labels = Uint32Array.from(targets, (t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= classes)
      throw new ArgumentError(op, 'target', `[${i}] = ${t} is not a class index in [0, ${classes})`);
    return t;
  });
  const rt = runtime();
  // The labels travel as the raw bits of a tensor, so the graph owns them like any saved tensor.
  const labelBits = fromData(new Float32Array(labels.buffer), [rows]);
  const perRow = empty([rows]);
  const logSumExp = empty([rows]);
  rt.dispatch({
    kernel: 'cross_entropy',
    entry: 'forward',
    constants: { WG },
    buffers: [
      logits.buffer(op, 'input'),
      labelBits.buffer(op, 'target'),
      perRow.buffer(op, 'loss'),
      logSumExp.buffer(op, 'lse'),
    ],
    params: new Params().u32(rows, classes).f32(1),
    workgroups: linearGrid(Math.ceil(rows / WG)),
  });
  const loss = mean(perRow);
  perRow.dispose();
  if (!logits.requiresGrad || !isGradEnabled()) {
    labelBits.dispose();
    logSumExp.dispose();
    return loss;
  }
  return record(loss, op, [logits], (g) => {
    const grad = empty(logits.shape);
    rt.dispatch({
      kernel: 'cross_entropy',
      entry: 'backward',
      constants: { WG },
      buffers: [
        logits.buffer(op, 'input'),
        labelBits.buffer(op, 'target'),
        logSumExp.buffer(op, 'lse'),
        g.buffer(op, 'grad'),
        grad.buffer(op, 'grad_input'),
      ],
      params: new Params().u32(rows, classes).f32(1 / rows),
      workgroups: linearGrid(Math.ceil(logits.size / WG)),
    });
    return [grad];
  });
}
