// The ResNet/ResNeXt forward in eval mode, composed from the reference kernels: checks a
// whole model on the GPU end to end.
import { nd, type NDArray } from './array.js';
import { batchNorm } from './batchnorm.js';
import { conv2d } from './conv2d.js';
import { binary, unary } from './elementwise.js';
import { matmul } from './matmul.js';
import { maxPool2d } from './pool.js';
import { sum } from './reduce.js';

export interface ReferenceResNetSpec {
  stem: 'imagenet' | 'cifar';
  stages: { blocks: number; stride: number }[];
  groups: number;
}

const pairOf = (v: number): [number, number] => [v, v];

export function resnetForward(spec: ReferenceResNetSpec, state: Record<string, NDArray>, x: NDArray): NDArray {
  const conv = (input: NDArray, key: string, stride = 1, padding = 0, groups = 1) =>
    conv2d(input, state[key], null, { stride: pairOf(stride), padding: pairOf(padding), dilation: [1, 1], groups });
  const bn = (input: NDArray, prefix: string, relu: boolean) =>
    batchNorm(
      input,
      state[`${prefix}.running_mean`],
      state[`${prefix}.running_var`],
      state[`${prefix}.weight`],
      state[`${prefix}.bias`],
      { training: false, eps: 1e-5, relu, momentum: 0.1 },
    );
  const imagenet = spec.stem === 'imagenet';
  let h = bn(conv(x, 'conv1.weight', imagenet ? 2 : 1, imagenet ? 3 : 1), 'bn1', true);
  if (imagenet) h = maxPool2d(h, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] });
  spec.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      const stride = b === 0 ? stage.stride : 1;
      let out = bn(conv(h, `${p}.conv1.weight`), `${p}.bn1`, true);
      out = bn(conv(out, `${p}.conv2.weight`, stride, 1, spec.groups), `${p}.bn2`, true);
      out = bn(conv(out, `${p}.conv3.weight`), `${p}.bn3`, false);
      const identity = state[`${p}.downsample.0.weight`]
        ? bn(conv(h, `${p}.downsample.0.weight`, stride), `${p}.downsample.1`, false)
        : h;
      h = unary('relu', binary('add', out, identity));
    }
  });
  const [N, C, H, W] = h.shape;
  const pooled = nd(sum(h, [2, 3], 1 / (H * W)).data, [N, C]);
  return binary('add', matmul(pooled, state['fc.weight'], false, true), state['fc.bias']);
}
