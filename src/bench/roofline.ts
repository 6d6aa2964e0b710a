// The roofline of `bench conv`'s shapes on a machine given by its peak FP32 rate and its
// memory bandwidth: each role's floating-point work and the least traffic it needs (every
// input read once, every output written once), so the least time any kernel can take there.
// A measured `bench conv --json` file adds how close our kernels come. No GPU is involved:
// this is the paper target for an adapter we have not run on.
import { geometryOf, type ConvShape } from './shapes.js';

export interface Machine {
  name: string;
  /** Peak FP32 rate without tensor cores, in TFLOP/s. */
  tflops: number;
  /** Memory bandwidth, in TB/s. */
  tbps: number;
}

export const H200: Machine = { name: 'NVIDIA H200 (FP32 without tensor cores)', tflops: 67, tbps: 4.8 };

/** A shape's least time on a machine: its forward, and its backward (grad-input and
 *  grad-weight each do the forward's multiply-adds and move as many bytes). */
export interface ShapeBound {
  shape: ConvShape;
  flops: number;
  /** The forward's least bytes moved: input and weights read once, the output written once. */
  bytes: number;
  /** FLOP per byte. */
  intensity: number;
  bound: 'compute' | 'memory';
  /** The least forward time on the machine, in ms; the backward's is twice that. */
  ms: number;
}

const FLOAT = 4;

export function shapeBound(shape: ConvShape, machine: Machine): ShapeBound {
  const g = geometryOf(shape);
  const flops = 2 * g.N * g.C_out * g.H_out * g.W_out * (g.C_in / g.groups) * g.kH * g.kW;
  const bytes =
    FLOAT *
    (g.N * g.C_in * g.H * g.W + g.C_out * (g.C_in / g.groups) * g.kH * g.kW + g.N * g.C_out * g.H_out * g.W_out);
  const computeMs = flops / (machine.tflops * 1e9);
  const memoryMs = bytes / (machine.tbps * 1e9);
  return {
    shape,
    flops,
    bytes,
    intensity: flops / bytes,
    bound: computeMs >= memoryMs ? 'compute' : 'memory',
    ms: Math.max(computeMs, memoryMs),
  };
}

/** `bench conv --json`'s rows: a shape's label, forward or backward, and its median. */
export interface MeasuredRow {
  shape: { label: string };
  mode: 'forward' | 'backward';
  medianMs: number;
}

export const ROOFLINE_HEADER = [
  'shape',
  'GFLOP',
  'MB moved',
  'FLOP/B',
  'bound',
  'least fwd µs',
  'least bwd µs',
  'measured fwd ms',
  'measured bwd ms',
  'fwd of roof',
  'bwd of roof',
];

/** Table rows; measured rows (if any) add their medians and the fraction of the roofline. */
export function rooflineRows(bounds: ShapeBound[], measured: MeasuredRow[] = []): string[][] {
  const find = (label: string, mode: MeasuredRow['mode']) =>
    measured.find((m) => m.shape.label === label && m.mode === mode)?.medianMs;
  const percent = (least: number, ms: number | undefined) =>
    ms === undefined ? '' : `${((100 * least) / ms).toFixed(2)}%`;
  return bounds.map((b) => {
    const [forward, backward] = [find(b.shape.label, 'forward'), find(b.shape.label, 'backward')];
    return [
      b.shape.label,
      (b.flops / 1e9).toFixed(2),
      (b.bytes / 1e6).toFixed(1),
      b.intensity.toFixed(0),
      b.bound,
      (1000 * b.ms).toFixed(1),
      (2000 * b.ms).toFixed(1),
      forward?.toFixed(2) ?? '',
      backward?.toFixed(2) ?? '',
      percent(b.ms, forward),
      percent(2 * b.ms, backward),
    ];
  });
}
