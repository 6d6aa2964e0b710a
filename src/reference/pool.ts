import type { NDArray } from './array.js';

export interface PoolSpec {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
}

/** Max pooling; also returns, per output, the flat input index of its first maximum. */
export function maxPool2d(x: NDArray, s: PoolSpec): NDArray & { argmax: number[] } {
  const [N, C, H, W] = x.shape;
  const HO = Math.floor((H + 2 * s.padding[0] - s.kernel[0]) / s.stride[0]) + 1;
  const WO = Math.floor((W + 2 * s.padding[1] - s.kernel[1]) / s.stride[1]) + 1;
  const data = new Float64Array(N * C * HO * WO);
  const argmax: number[] = [];
  for (let plane = 0; plane < N * C; plane++)
    for (let oh = 0; oh < HO; oh++)
      for (let ow = 0; ow < WO; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < s.kernel[0]; kh++)
          for (let kw = 0; kw < s.kernel[1]; kw++) {
            const ih = oh * s.stride[0] - s.padding[0] + kh;
            const iw = ow * s.stride[1] - s.padding[1] + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x.data[(plane * H + ih) * W + iw];
            if (v > best) [best, at] = [v, (plane * H + ih) * W + iw];
          }
        data[(plane * HO + oh) * WO + ow] = best;
        argmax.push(at);
      }
  return { data, shape: [N, C, HO, WO], argmax };
}
