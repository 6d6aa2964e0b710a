import { describe, expect, it } from 'vitest';
import {
  add,
  ArgumentError,
  DisposedTensorError,
  mul,
  noGrad,
  relu,
  runtime,
  ShapeError,
  sum,
  tensor,
  tidy,
  zeroGrad,
} from '../src/index.js';
import { settledInUseBytes } from './helpers.js';

const values = async (t: { toArray(): Promise<Float32Array> }) => Array.from(await t.toArray());

describe('autograd', () => {
  it('a tensor used twice gets both contributions (d/dx of x*x + x = 2x + 1)', async () => {
    const x = tensor([1, -2, 3], [3], { requiresGrad: true });
    sum(add(mul(x, x), x)).backward();
    expect(await values(x.grad!)).toEqual([3, -3, 7]);
  });

  it('add(x, x) passes its gradient to both operands without aliasing them', async () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = tensor([5, 6], [2], { requiresGrad: true });
    sum(add(add(x, x), y)).backward();
    expect(await values(x.grad!)).toEqual([2, 2]);
    expect(await values(y.grad!)).toEqual([1, 1]);
  });

  it('gradients accumulate over backward calls in place, and zeroGrad clears them', async () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    sum(mul(x, 3)).backward();
    const first = x.grad!;
    sum(mul(x, 3)).backward();
    expect(x.grad).toBe(first);
    expect(await values(x.grad!)).toEqual([6, 6]);
    zeroGrad([x]);
    expect(x.grad).toBeNull();
    expect(first.isDisposed).toBe(true);
  });

  it('backward with an explicit gradient for a non-scalar output', async () => {
    const x = tensor([1, -1, 2], [3], { requiresGrad: true });
    relu(x).backward(tensor([10, 20, 30], [3]));
    expect(await values(x.grad!)).toEqual([10, 0, 30]);
  });

  it('only leaves that require grad get .grad; noGrad and detach record nothing', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const c = tensor([3, 4], [2]);
    const y = mul(x, c);
    expect(y.requiresGrad).toBe(true);
    expect(y.gradFn?.name).toBe('mul');
    sum(y).backward();
    expect(c.grad).toBeNull();
    expect(noGrad(() => mul(x, c)).requiresGrad).toBe(false);
    expect(mul(x.detach(), c).requiresGrad).toBe(false);
  });

  it('the graph is freed after backward unless retainGraph is set', async () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = sum(mul(x, x));
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(await values(x.grad!)).toEqual([4, 8]);
    expect(() => y.backward()).toThrow(/already freed/);
  });

  it('backward of a non-scalar without a gradient, or of a tensor without grad, is an error', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    expect(() => mul(x, 2).backward()).toThrow(ShapeError);
    expect(() => tensor([1]).backward()).toThrow(ArgumentError);
  });

  it('tidy disposes what the scope created except results and gradients', async () => {
    const before = await settledInUseBytes();
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    let inner: ReturnType<typeof mul> | null = null;
    const loss = tidy(() => {
      inner = mul(x, x);
      const l = sum(inner);
      l.backward();
      return l;
    });
    expect(inner!.isDisposed).toBe(true);
    expect(loss.isDisposed).toBe(false);
    expect(await values(x.grad!)).toEqual([2, 4, 6]);
    expect(() => add(inner!, 1)).toThrow(DisposedTensorError);
    loss.dispose();
    x.grad!.dispose();
    x.dispose();
    expect(runtime().stats().inUseBytes).toBe(before);
  });

  it('tidy disposes its tensors when the function throws', () => {
    const before = runtime().stats().inUseBytes;
    expect(() =>
      tidy(() => {
        tensor([1, 2, 3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(runtime().stats().inUseBytes).toBe(before);
  });
});
