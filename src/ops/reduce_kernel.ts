// The reduction kernel (kernels/reduce.wgsl) without autograd: reduceKernel sums over axes,
// and sumTo folds a broadcast gradient back to its input's shape. The differentiable
// sum and mean (reduce.ts) and the elementwise backward rules (elementwise.ts) both build
// on it, so neither imports the other's module for it.
import type { Shape } from '../errors.js';
import { grid, kernelContract, runtime, uniformStruct } from '../runtime/index.js';
import { contiguousStrides, empty, type Tensor } from '../tensor.js';

/** alpha * the sum over `reduced` elements for each of `outputs`: `kept` runs of (size,
 *  stride) walk the outputs, `reduced` runs the elements summed into one. */
const REDUCE_PARAMS = uniformStruct('ReduceParams', {
  outputs: 'u32',
  reduced: 'u32',
  kept_rank: 'u32',
  reduced_rank: 'u32',
  alpha: 'f32',
  kept_shape: 'vec4<u32>',
  kept_strides: 'vec4<u32>',
  reduced_shape: 'vec4<u32>',
  reduced_strides: 'vec4<u32>',
});
kernelContract('reduce', { structs: [REDUCE_PARAMS] });

/** Reductions at least LONG share an output among WIDE_LANES invocations; at least MEDIUM,
 *  among MEDIUM_LANES; shorter ones give each invocation an output of its own. */
const LONG = 512;
const MEDIUM = 32;
const WIDE_LANES = 64;
const MEDIUM_LANES = 8;
/** Invocations per workgroup: LANES * OUTPUTS_PER_GROUP. */
const WORKGROUP = 64;

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
  if (reduced >= LONG) return { LANES: WIDE_LANES, OUTPUTS_PER_GROUP: WORKGROUP / WIDE_LANES };
  if (reduced >= MEDIUM) return { LANES: MEDIUM_LANES, OUTPUTS_PER_GROUP: WORKGROUP / MEDIUM_LANES };
  return { LANES: 1, OUTPUTS_PER_GROUP: WORKGROUP };
}

/** alpha * sum of x over `axes` (sorted, valid), shaped with kept size-1 dims; records no graph. */
export function reduceKernel(op: string, x: Tensor, axes: number[], alpha: number): Tensor {
  const axisSet = new Set(axes);
  const keptShape = x.shape.map((d, i) => (axisSet.has(i) ? 1 : d));
  const out = empty(keptShape);
  if (out.size === 0) return out;
  const { kept, reduced } = plan(x.shape, axisSet);
  const count = reduced.reduce((n, r) => n * r.size, 1);
  const walk = vec4Walk(kept, reduced, out.size, count);
  const constants = walk ? { LANES: 1, OUTPUTS_PER_GROUP: WORKGROUP } : lanesFor(count);
  runtime().launch(op, {
    kernel: 'reduce',
    entry: walk ?? 'main',
    constants,
    bind: { input: x, out },
    params: REDUCE_PARAMS.pack({
      outputs: out.size,
      reduced: x.size === 0 ? 0 : count,
      kept_rank: kept.length,
      reduced_rank: reduced.length,
      alpha,
      kept_shape: kept.map((r) => r.size),
      kept_strides: kept.map((r) => r.stride),
      reduced_shape: reduced.map((r) => r.size),
      reduced_strides: reduced.map((r) => r.stride),
    }),
    grid: grid.items(walk === 'sum_rows4' ? out.size / VEC4_FLOATS : out.size, constants.OUTPUTS_PER_GROUP),
  });
  return out;
}

/** Elements per vec4. */
const VEC4_FLOATS = 4;

/** kernels/reduce.wgsl's vec4 walks, where the sums are those of a [count, outputs] matrix's
 *  columns with whole vec4 rows (sum_rows4: the kept axes one contiguous run, the reduced
 *  ones outside it), or of an [outputs, count] matrix's rows (sum_runs4: the reduced axes one
 *  contiguous run at the end, shorter than a reduction the workgroup tree shares out). */
function vec4Walk(kept: Run[], reduced: Run[], outputs: number, count: number): 'sum_rows4' | 'sum_runs4' | null {
  if (kept.length !== 1 || reduced.length !== 1) return null;
  if (kept[0].stride === 1 && outputs % VEC4_FLOATS === 0 && reduced[0].stride === outputs) return 'sum_rows4';
  if (reduced[0].stride === 1 && kept[0].stride === count && count < LONG) return 'sum_runs4';
  return null;
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
