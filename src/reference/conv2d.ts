import type { NDArray } from './array.js';

export interface ConvSpec {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

interface Dims {
  N: number;
  C: number;
  H: number;
  W: number;
  CO: number;
  cig: number;
  cog: number;
  kH: number;
  kW: number;
  HO: number;
  WO: number;
}

function dims(xShape: number[], wShape: number[], s: ConvSpec): Dims {
  const [N, C, H, W] = xShape;
  const [CO, cig, kH, kW] = wShape;
  const HO = Math.floor((H + 2 * s.padding[0] - s.dilation[0] * (kH - 1) - 1) / s.stride[0]) + 1;
  const WO = Math.floor((W + 2 * s.padding[1] - s.dilation[1] * (kW - 1) - 1) / s.stride[1]) + 1;
  return { N, C, H, W, CO, cig, cog: CO / s.groups, kH, kW, HO, WO };
}

/** Calls visit(xIndex, wIndex, yIndex) for every multiply-add of the convolution. */
function eachTerm(d: Dims, s: ConvSpec, visit: (xi: number, wi: number, yi: number) => void): void {
  for (let n = 0; n < d.N; n++)
    for (let co = 0; co < d.CO; co++) {
      const g = Math.floor(co / d.cog);
      for (let oh = 0; oh < d.HO; oh++)
        for (let ow = 0; ow < d.WO; ow++) {
          const yi = ((n * d.CO + co) * d.HO + oh) * d.WO + ow;
          for (let cl = 0; cl < d.cig; cl++)
            for (let kh = 0; kh < d.kH; kh++) {
              const ih = oh * s.stride[0] - s.padding[0] + kh * s.dilation[0];
              if (ih < 0 || ih >= d.H) continue;
              for (let kw = 0; kw < d.kW; kw++) {
                const iw = ow * s.stride[1] - s.padding[1] + kw * s.dilation[1];
                if (iw < 0 || iw >= d.W) continue;
                visit(
                  ((n * d.C + g * d.cig + cl) * d.H + ih) * d.W + iw,
                  ((co * d.cig + cl) * d.kH + kh) * d.kW + kw,
                  yi,
                );
              }
            }
        }
    }
}

export function conv2d(x: NDArray, w: NDArray, bias: NDArray | null, s: ConvSpec): NDArray {
  const d = dims(x.shape, w.shape, s);
  const y = new Float64Array(d.N * d.CO * d.HO * d.WO);
  if (bias) y.forEach((_, i) => (y[i] = bias.data[Math.floor(i / (d.HO * d.WO)) % d.CO]));
  eachTerm(d, s, (xi, wi, yi) => (y[yi] += x.data[xi] * w.data[wi]));
  return { data: y, shape: [d.N, d.CO, d.HO, d.WO] };
}

export function conv2dGradInput(dy: NDArray, w: NDArray, xShape: number[], s: ConvSpec): NDArray {
  const d = dims(xShape, w.shape, s);
  const dx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  eachTerm(d, s, (xi, wi, yi) => (dx[xi] += dy.data[yi] * w.data[wi]));
  return { data: dx, shape: [...xShape] };
}

export function conv2dGradWeight(x: NDArray, dy: NDArray, wShape: number[], s: ConvSpec): NDArray {
  const d = dims(x.shape, wShape, s);
  const dw = new Float64Array(wShape.reduce((a, b) => a * b, 1));
  eachTerm(d, s, (xi, wi, yi) => (dw[wi] += dy.data[yi] * x.data[xi]));
  return { data: dw, shape: [...wShape] };
}
