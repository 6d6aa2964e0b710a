// Fill and copy (kernels/fill.wgsl): zeros, ones, full, and clone.
import { record } from '../autograd.js';
import type { Shape } from '../errors.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { expectFinite, expectShape, expectTensor } from './validate.js';

const WG = 256;

export interface CreateOptions {
  requiresGrad?: boolean;
}

export function full(shape: Shape, value: number, { requiresGrad = false }: CreateOptions = {}): Tensor {
  expectShape('full', 'shape', shape);
  expectFinite('full', 'value', value);
  const out = empty(shape);
  if (out.size > 0) {
    runtime().dispatch({
      kernel: 'fill',
      entry: 'fill',
      constants: { WG },
      buffers: [out.buffer('full', 'out')],
      params: new Params().u32(out.size).f32(value),
      workgroups: linearGrid(Math.ceil(out.size / WG)),
    });
  }
  out.requiresGrad = requiresGrad;
  return out;
}

export const zeros = (shape: Shape, options?: CreateOptions): Tensor => full(shape, 0, options);
export const ones = (shape: Shape, options?: CreateOptions): Tensor => full(shape, 1, options);
export const zerosLike = (t: Tensor, options?: CreateOptions): Tensor => zeros(t.shape, options);
export const onesLike = (t: Tensor, options?: CreateOptions): Tensor => ones(t.shape, options);

/** A copy with its own storage; gradients flow through unchanged. */
export function clone(x: Tensor): Tensor {
  expectTensor('clone', 'input', x);
  const out = empty(x.shape);
  if (out.size > 0) {
    runtime().dispatch({
      kernel: 'fill',
      entry: 'copy',
      constants: { WG },
      buffers: [x.buffer('clone', 'input'), out.buffer('clone', 'out')],
      params: new Params().u32(out.size).f32(0).u32(0, 0),
      workgroups: linearGrid(Math.ceil(out.size / WG)),
    });
  }
  return record(out, 'clone', [x], (g) => [g]);
}
