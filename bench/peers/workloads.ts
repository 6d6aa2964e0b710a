// What `bench:peers` measures: the `bench conv` shapes, forward and forward + backward,
// and one square matmul. Importing this acquires our device (through bench/conv.ts).
import type { ConvGeometry } from '../../src/ops/conv2d.js';
import { forwardFlops, geometryOf } from '../conv.js';
import type { ConvShape } from '../shapes.js';

/** forward; or forward, grad-input and grad-weight, as one training step runs them. */
export type Mode = 'forward' | 'fwd+bwd';

export type Workload =
  | { kind: 'conv'; label: string; mode: Mode; shape: ConvShape; g: ConvGeometry; flops: number }
  | { kind: 'matmul'; label: string; mode: 'forward'; M: number; K: number; N: number; flops: number };

export const MATMUL_LABEL = 'matmul';
export const MATMUL_SIZE = 1024;

/** Each shape in each mode, then the matmul if asked for. A backward costs two forwards. */
export function buildWorkloads(shapes: ConvShape[], modes: Mode[], matmul: boolean): Workload[] {
  const conv = shapes.flatMap((shape) =>
    modes.map((mode): Workload => {
      const g = geometryOf(shape);
      return { kind: 'conv', label: shape.label, mode, shape, g, flops: (mode === 'forward' ? 1 : 3) * forwardFlops(g) };
    }),
  );
  const n = MATMUL_SIZE;
  return matmul ? [...conv, { kind: 'matmul', label: MATMUL_LABEL, mode: 'forward', M: n, K: n, N: n, flops: 2 * n * n * n }] : conv;
}

export function describe(w: Workload): string {
  if (w.kind === 'matmul') return `matmul ${w.M}x${w.K}x${w.N}`;
  const s = w.shape;
  return `${s.label}: N=${s.N} C=${s.C} ${s.H}x${s.W} g${s.groups}${s.k !== 3 ? ` k${s.k}` : ''}${s.stride !== 1 ? ` s${s.stride}` : ''}`;
}

/** Deterministic values in [-1, 1): inputs only need to be finite and not denormal. */
export function pseudoRandom(count: number, seed = 1): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return out;
}
