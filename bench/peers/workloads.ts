// What `bench:peers` measures: the `bench conv` shapes, forward and forward + backward,
// one square matmul, and a training step of the small ResNeXt. Importing this acquires our
// device (through src/bench/conv.ts).
import { MODELS, SMALL_RESNEXT_SPEC, smallResnext, type SmallSpec } from '../../src/models/index.js';
import type { ConvGeometry } from '../../src/ops/conv2d/index.js';
import { forwardFlops, geometryOf } from '../../src/bench/conv.js';
import type { ConvShape } from '../../src/bench/shapes.js';

/** forward; or forward, grad-input and grad-weight, as one training step runs them. */
export type Mode = 'forward' | 'fwd+bwd';

export type Workload =
  | { kind: 'conv'; label: string; mode: Mode; shape: ConvShape; g: ConvGeometry; flops: number }
  | { kind: 'matmul'; label: string; mode: 'forward'; M: number; K: number; N: number; flops: number };

/**
 * One SGD step (forward, cross-entropy, backward, momentum update) of the small ResNeXt on
 * a batch of 28x28 grayscale images. Every engine builds the model from `spec`, spelled
 * out rather than left to smallResnext()'s defaults because the peers cannot read those.
 */
export interface TrainingWorkload {
  kind: 'train';
  label: string;
  mode: 'train';
  spec: Required<SmallSpec>;
  batch: number;
  /** One image: [C, H, W]. */
  input: number[];
  /** Our model's parameter count: a peer whose model has another is not the same model. */
  parameters: number;
  /** Forward + backward multiply-adds of convolutions and fc, 2 flops each (as the conv rows count). */
  flops: number;
  lr: number;
  momentum: number;
}

export const MATMUL_LABEL = 'matmul';
export const MATMUL_SIZE = 1024;

/** Each shape in each mode, then the matmul if asked for. A backward costs two forwards. */
export function buildWorkloads(shapes: ConvShape[], modes: Mode[], matmul: boolean): Workload[] {
  const conv = shapes.flatMap((shape) =>
    modes.map((mode): Workload => {
      const g = geometryOf(shape);
      return {
        kind: 'conv',
        label: shape.label,
        mode,
        shape,
        g,
        flops: (mode === 'forward' ? 1 : 3) * forwardFlops(g),
      };
    }),
  );
  const n = MATMUL_SIZE;
  return matmul
    ? [...conv, { kind: 'matmul', label: MATMUL_LABEL, mode: 'forward', M: n, K: n, N: n, flops: 2 * n * n * n }]
    : conv;
}

/** The training step at `resnext train`'s batch size. Plain momentum SGD, the update every
 *  engine has: tf.train.momentum has no weight decay, so the trainer's is left out everywhere. */
export function trainingWorkload(batch = 64): TrainingWorkload {
  const model = smallResnext(SMALL_RESNEXT_SPEC);
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  const input = MODELS.small_resnext.input;
  const { macs } = model.shapeAndMacs([batch, ...input]);
  model.dispose();
  return {
    kind: 'train',
    label: 'small resnext',
    mode: 'train',
    spec: SMALL_RESNEXT_SPEC,
    batch,
    input,
    parameters,
    flops: 3 * 2 * macs,
    lr: 0.05,
    momentum: 0.9,
  };
}

/** Throws unless an engine's model has as many parameters as ours: otherwise it is another model. */
export function checkParameters(engine: string, count: number, w: TrainingWorkload): void {
  if (count !== w.parameters)
    throw new Error(`${engine}'s model has ${count} parameters, ours ${w.parameters}: not the same model`);
}

export function describe(w: Workload | TrainingWorkload): string {
  if (w.kind === 'train') return `small resnext train (batch ${w.batch})`;
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
