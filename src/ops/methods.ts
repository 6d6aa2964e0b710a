// PyTorch-style methods on Tensor (x.add(y).sum().backward()). They live here, not in
// tensor.ts, so that tensor.ts never imports the ops that import it.
import { runBackward, type BackwardOptions } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { accumulateInto, add, div, exp, expand, log, mul, neg, relu, sqrt, sub } from './elementwise.js';
import { clone, onesLike } from './fill.js';
import { matmul } from './matmul.js';
import { mean, sum } from './reduce.js';
import { flatten, reshape } from './shape.js';
import { expectTensor } from './validate.js';

declare module '../tensor.js' {
  interface Tensor {
    add(other: Tensor | number): Tensor;
    sub(other: Tensor | number): Tensor;
    mul(other: Tensor | number): Tensor;
    div(other: Tensor | number): Tensor;
    neg(): Tensor;
    relu(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    sum(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    mean(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    matmul(other: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    flatten(startDim?: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    clone(): Tensor;
    /** Accumulates gradients into .grad of every leaf this tensor depends on. */
    backward(gradient?: Tensor, options?: BackwardOptions): void;
  }
}

/** The method that calls `op` with its tensor first: x.add(y) is add(x, y). */
function method<A extends unknown[], R>(op: (x: Tensor, ...args: A) => R): (this: Tensor, ...args: A) => R {
  return function (this: Tensor, ...args: A) {
    return op(this, ...args);
  };
}

const methods: Partial<Tensor> = {
  add: method(add),
  sub: method(sub),
  mul: method(mul),
  div: method(div),
  neg: method(neg),
  relu: method(relu),
  exp: method(exp),
  log: method(log),
  sqrt: method(sqrt),
  sum: method(sum),
  mean: method(mean),
  matmul: method(matmul),
  reshape: method(reshape),
  flatten: method(flatten),
  expand: method(expand),
  clone: method(clone),
  backward(this: Tensor, gradient?: Tensor, options?: BackwardOptions) {
    if (gradient !== undefined) expectTensor('backward', 'gradient', gradient);
    runBackward(this, gradient, { clone, onesLike, accumulate: accumulateInto }, options);
  },
};
Object.assign(Tensor.prototype, methods);

/** Disposes and clears the .grad of each tensor (optimizer.zero_grad(set_to_none=True)). */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) {
    t.grad?.dispose();
    t.grad = null;
  }
}
