// The reduction kernel (kernels/reduce.wgsl) without autograd: reduceKernel sums over axes,
// and sumTo folds a broadcast gradient back to its input's shape. The differentiable
// sum and mean (reduce.ts) and the elementwise backward rules (elementwise.ts) both build
// on it, so neither imports the other's module for it.
import type { Shape } from '../errors.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import { contiguousStrides, empty, type Tensor } from '../tensor.js';

interface Run {
  size: number;
  stride: number;
}

/** Drops size-1 dims and merges neighbours of the same kind (kept or reduced) into runs. */
function plan(shape: Shape, axes: Set<number>): { kept: Run[]; reduced: Run[] } {
  const strides = contiguousStrides(shape);
  const kept: Run[] = [];
  const reduced: Run[] = [];
  let previous: Run[] | null = null;
  shape.forEach((size, d) => {
    if (size === 1) return;
    const side = axes.has(d) ? reduced : kept;
    const last = side.at(-1);
    if (previous === side && last && last.stride === size * strides[d]) {
      last.size *= size;
      last.stride = strides[d];
    } else side.push({ size, stride: strides[d] });
    previous = side;
  });
  return { kept, reduced };
}

/** Picks how many invocations share one output: many for long reductions, one for short. */
function lanesFor(reduced: number): { LANES: number; OUTPUTS_PER_GROUP: number } {
  if (reduced >= 512) return { LANES: 64, OUTPUTS_PER_GROUP: 1 };
  if (reduced >= 32) return { LANES: 8, OUTPUTS_PER_GROUP: 8 };
  return { LANES: 1, OUTPUTS_PER_GROUP: 64 };
}

/** alpha * sum of x over `axes` (sorted, valid), shaped with kept size-1 dims; records no graph. */
export function reduceKernel(op: string, x: Tensor, axes: number[], alpha: number): Tensor {
  const axisSet = new Set(axes);
  const keptShape = x.shape.map((d, i) => (axisSet.has(i) ? 1 : d));
  const out = empty(keptShape);
  if (out.size === 0) return out;
  const { kept, reduced } = plan(x.shape, axisSet);
  const count = reduced.reduce((n, r) => n * r.size, 1);
  const constants = lanesFor(count);
  runtime().dispatch({
    kernel: 'reduce',
    constants,
    buffers: [x.buffer(op, 'input'), out.buffer(op, 'out')],
    params: new Params()
      .u32(out.size, x.size === 0 ? 0 : count, kept.length, reduced.length)
      .f32(alpha)
      .u32Array([...kept.map((r) => r.size)], 1)
      .u32Array([...kept.map((r) => r.stride)], 1)
      .u32Array([...reduced.map((r) => r.size)], 1)
      .u32Array([...reduced.map((r) => r.stride)], 1),
    workgroups: linearGrid(Math.ceil(out.size / constants.OUTPUTS_PER_GROUP)),
  });
  return out;
}

/** Sums a gradient of a broadcast result back to the input's `shape`; returns g itself when no dims were broadcast. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.map((_, d) => d).filter((d) => d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1));
  const summed = reduceKernel('sumTo', g, axes, 1);
  const out = summed.view(shape, 'sumTo');
  summed.dispose();
  return out;
}
