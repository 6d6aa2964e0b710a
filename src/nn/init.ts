// Weight initialisation as PyTorch and torchvision do it.
import { randn, uniform } from '../creation.js';
import { assign } from '../ops/fill.js';
import { defaultGenerator, type Generator } from '../random.js';
import { ScopedFlag } from '../scoped-flag.js';
import type { Tensor } from '../tensor.js';

const skipping = new ScopedFlag(false);

/** Builds modules without initialising their parameters, like torch.nn.utils.skip_init:
 *  for weights about to be loaded, or for counting parameters of a large model. */
export function skipInit<T>(build: () => T): T {
  return skipping.during(true, build);
}

/** fan_in and fan_out of a weight [out, in, ...kernel], as torch.nn.init computes them. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** kaiming_normal_(mode='fan_out', nonlinearity='relu'): torchvision's ResNet convolutions. */
export function kaimingNormalFanOut(weight: Tensor, generator: Generator = defaultGenerator): void {
  const std = Math.sqrt(2 / fans(weight.shape).fanOut);
  replaceWith(weight, () => randn(weight.shape, { std, generator }));
}

/** PyTorch's default for Conv2d and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. */
export function defaultUniform(t: Tensor, fanIn: number, generator: Generator = defaultGenerator): void {
  const bound = 1 / Math.sqrt(fanIn);
  replaceWith(t, () => uniform(t.shape, -bound, bound, { generator }));
}

export function constant(t: Tensor, value: number): void {
  if (!skipping.value) assign(t, new Float32Array(t.size).fill(value));
}

function replaceWith(target: Tensor, values: () => Tensor): void {
  if (skipping.value) return;
  const v = values();
  assign(target, v);
  v.dispose();
}
