// Tensors from host data and from the seeded generator.
import { ArgumentError, fmtShape, ShapeError, type Shape } from './errors.js';
import { expectShape } from './ops/validate.js';
import { defaultGenerator, type Generator } from './random.js';
import { fromData, numel, type Tensor } from './tensor.js';

export interface TensorOptions {
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

/** A tensor holding a copy of `data` (shape defaults to [data.length]). */
export function tensor(
  data: Float32Array | readonly number[],
  shape?: Shape,
  { requiresGrad = false }: TensorOptions = {},
): Tensor {
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  const dims = [...expectShape('tensor', 'shape', shape ?? [values.length])];
  if (numel(dims) !== values.length) {
    throw new ShapeError(
      'tensor',
      'data',
      `has ${values.length} values but shape ${fmtShape(dims)} needs ${numel(dims)}`,
    );
  }
  return fromData(values, dims, requiresGrad);
}

/** Standard normal samples, times `std`, plus `mean`. */
export function randn(
  shape: Shape,
  {
    generator = defaultGenerator,
    requiresGrad = false,
    std = 1,
    mean = 0,
  }: RandomOptions & { std?: number; mean?: number } = {},
): Tensor {
  const dims = [...expectShape('randn', 'shape', shape)];
  const values = new Float32Array(numel(dims));
  for (let i = 0; i < values.length; i++) values[i] = mean + std * generator.normal();
  return fromData(values, dims, requiresGrad);
}

/** Uniform samples in [low, high). */
export function uniform(
  shape: Shape,
  low = 0,
  high = 1,
  { generator = defaultGenerator, requiresGrad = false }: RandomOptions = {},
): Tensor {
  const dims = [...expectShape('uniform', 'shape', shape)];
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high)) {
    throw new ArgumentError('uniform', 'low/high', `must be finite with low <= high, got ${low} and ${high}`);
  }
  const values = new Float32Array(numel(dims));
  for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * generator.random();
  return fromData(values, dims, requiresGrad);
}
