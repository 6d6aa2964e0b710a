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

const methods: Partial<Tensor> = {
  add(this: Tensor, other) {
    return add(this, other);
  },
  sub(this: Tensor, other) {
    return sub(this, other);
  },
  mul(this: Tensor, other) {
    return mul(this, other);
  },
  div(this: Tensor, other) {
    return div(this, other);
  },
  neg(this: Tensor) {
    return neg(this);
  },
  relu(this: Tensor) {
    return relu(this);
  },
  exp(this: Tensor) {
    return exp(this);
  },
  log(this: Tensor) {
    return log(this);
  },
  sqrt(this: Tensor) {
    return sqrt(this);
  },
  sum(this: Tensor, axis, keepdim) {
    return sum(this, axis, keepdim);
  },
  mean(this: Tensor, axis, keepdim) {
    return mean(this, axis, keepdim);
  },
  matmul(this: Tensor, other) {
    return matmul(this, other);
  },
  reshape(this: Tensor, shape) {
    return reshape(this, shape);
  },
  flatten(this: Tensor, startDim) {
    return flatten(this, startDim);
  },
  expand(this: Tensor, shape) {
    return expand(this, shape);
  },
  clone(this: Tensor) {
    return clone(this);
  },
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
