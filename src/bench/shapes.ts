// Benchmark shapes and their parsing: no GPU imports, so the CLI can check arguments
// before it acquires a device.
import { convGeometry, type ConvGeometry } from '../ops/conv2d/geometry.js';

export interface ConvShape {
  label: string;
  N: number;
  C: number;
  H: number;
  W: number;
  groups: number;
  k: number;
  stride: number;
}

const shape = (label: string, N: number, C: number, H: number, groups: number): ConvShape => ({
  label,
  N,
  C,
  H,
  W: H,
  groups,
  k: 3,
  stride: 1,
});

/** ResNeXt-50 (32x4d)'s grouped 3x3 convolutions per stage at batch 8, plus contrasts. */
export const DEFAULT_SHAPES: ConvShape[] = [
  shape('resnext50 stage1', 8, 128, 56, 32),
  shape('resnext50 stage2', 8, 256, 28, 32),
  shape('resnext50 stage3', 8, 512, 14, 32),
  shape('resnext50 stage4', 8, 1024, 7, 32),
  shape('small resnext', 64, 64, 28, 8),
  shape('depthwise', 8, 128, 56, 128),
  shape('dense', 8, 64, 28, 1),
];

/** Parses `N,C,H,W,groups[,k,stride]`; throws a one-line message on bad input. */
export function parseShape(text: string): ConvShape {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.length < 5 || parts.length > 7 || values.some((v) => !Number.isSafeInteger(v) || v <= 0)) {
    throw new Error(`--shape '${text}' must be N,C,H,W,groups[,k,stride] with positive integers`);
  }
  const [N, C, H, W, groups, k = 3, stride = 1] = values;
  if (C % groups !== 0) throw new Error(`--shape '${text}': groups ${groups} does not divide C=${C}`);
  return { label: `custom ${text}`, N, C, H, W, groups, k, stride };
}

/** The convolution a shape stands for: C to C channels, 'same' padding. */
export function geometryOf(s: ConvShape): ConvGeometry {
  return convGeometry([s.N, s.C, s.H, s.W], [s.C, s.C / s.groups, s.k, s.k], {
    stride: s.stride,
    padding: Math.floor(s.k / 2),
    groups: s.groups,
  });
}
