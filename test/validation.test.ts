// Bad input raises a typed error naming the op, the argument and the shapes, before any GPU work.
import { describe, expect, it } from 'vitest';
import {
  add,
  ArgumentError,
  crossEntropy,
  div,
  expand,
  linear,
  matmul,
  mean,
  mul,
  reshape,
  runtime,
  ShapeError,
  sum,
  tensor,
  TensorTooLargeError,
  zeros,
  type Tensor,
} from '../src/index.js';

function expectRejected(
  call: () => unknown,
  type: typeof ShapeError | typeof ArgumentError,
  ...fragments: (string | RegExp)[]
): void {
  const before = runtime().stats().dispatches;
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(type);
  for (const f of fragments) expect((error as Error).message).toMatch(f);
  expect(runtime().stats().dispatches, 'dispatched GPU work before rejecting').toBe(before);
}

describe('bad input', () => {
  const a = tensor(new Float32Array(6), [2, 3]);
  const b = tensor(new Float32Array(8), [2, 4]);

  it('shape mismatches name the op, the argument and both shapes', () => {
    expectRejected(() => add(a, b), ShapeError, /^add: argument 'other'/, '[2, 4]', '[2, 3]');
    expectRejected(() => mul(a, tensor([1, 2])), ShapeError, 'mul', '[2]', '[2, 3]');
    expectRejected(() => matmul(a, a), ShapeError, /^matmul: argument 'other'/, '[2, 3]', 'inner sizes 3 and 2');
    expectRejected(
      () => linear(a, tensor(new Float32Array(8), [2, 4])),
      ShapeError,
      /^linear: argument 'input'/,
      '[2, 3]',
      '[2, 4]',
    );
    expectRejected(() => reshape(a, [4, 2]), ShapeError, /^reshape: argument 'shape'/, '[4, 2]', '[2, 3]');
    expectRejected(() => expand(a, [3, 3]), ShapeError, 'expand', '[3, 3]');
    expectRejected(() => tensor([1, 2, 3], [2, 2]), ShapeError, /^tensor: argument 'data'/, '[2, 2]');
  });

  it('wrong ranks', () => {
    expectRejected(() => matmul(tensor([1, 2, 3]), a), ShapeError, /^matmul: argument 'input' must have rank 2/, '[3]');
    expectRejected(
      () => crossEntropy(tensor([1, 2, 3]), [0]),
      ShapeError,
      /^crossEntropy: argument 'input' must have rank 2/,
    );
  });

  it('non-finite scalars, bad axes and bad labels', () => {
    expectRejected(() => add(a, NaN), ArgumentError, /^add: argument 'other' must be a finite number, got NaN/);
    expectRejected(() => mul(a, Infinity), ArgumentError, 'Infinity');
    expectRejected(() => div(a, 0), ArgumentError, /^div: argument 'other' is the scalar 0/);
    expectRejected(() => sum(a, 2), ArgumentError, /^sum: argument 'axis' 2 is out of range for a tensor of rank 2/);
    expectRejected(() => mean(a, [0, -2]), ArgumentError, 'repeats an axis');
    expectRejected(
      () => crossEntropy(a, [0, 3]),
      ArgumentError,
      /^crossEntropy: argument 'target' \[1\] = 3 is not a class index in \[0, 3\)/,
    );
    expectRejected(() => crossEntropy(a, [0]), ShapeError, 'has 1 labels but input [2, 3] has 2 rows');
  });

  it('a tensor larger than the adapter can bind fails before allocation, naming the limit', () => {
    const small = zeros([1]);
    const before = runtime().stats().allocatedBytes;
    const limit = runtime().device.limits.maxStorageBufferBindingSize;
    const rows = Math.ceil(limit / 4 / 1024) + 1;
    expect(() => zeros([rows, 1024])).toThrow(TensorTooLargeError);
    expect(() => zeros([rows, 1024])).toThrow(/maxStorageBufferBindingSize/);
    expect(() => expand(small, [rows, 1024])).toThrow(TensorTooLargeError);
    expect(runtime().stats().allocatedBytes).toBe(before);
  });

  it('non-tensors where a tensor belongs', () => {
    expectRejected(
      () => add([1, 2] as unknown as Tensor, a),
      ArgumentError,
      /^add: argument 'input' must be a Tensor, got object/,
    );
    expectRejected(
      () => matmul(a, null as unknown as Tensor),
      ArgumentError,
      /^matmul: argument 'other' must be a Tensor, got null/,
    );
  });
});
