// The model zoo: torchvision's ImageNet ResNet/ResNeXt, the paper's CIFAR ResNeXt-29, and a
// small ResNeXt for 28x28 grayscale images with its ResNet twin of matched size.
import { ResNet, type ResNetOptions, type ResNetSpec, type StageSpec } from './resnet.js';

import type { ModelName } from './names.js';

export { Bottleneck, ResNet, type BlockForm, type ResNetOptions, type ResNetSpec } from './resnet.js';
export { MODEL_NAMES, type ModelName } from './names.js';

const imagenetStages = (blocks: [number, number, number, number]): StageSpec[] =>
  blocks.map((n, i) => ({ blocks: n, planes: 64 * 2 ** i, stride: i === 0 ? 1 : 2 }));

function imagenet(blocks: [number, number, number, number], groups: number, widthPerGroup: number) {
  return ({ numClasses = 1000, ...options }: ResNetOptions = {}) =>
    new ResNet(
      {
        inChannels: 3,
        stem: 'imagenet',
        stemChannels: 64,
        stages: imagenetStages(blocks),
        groups,
        widthPerGroup,
        numClasses,
      },
      options,
    );
}

/** ResNeXt-29 for 32x32 images (the paper's CIFAR section): 3 stages of 3 blocks, outputs 256/512/1024. */
function resnext29(groups: number, widthPerGroup: number) {
  return ({ numClasses = 10, ...options }: ResNetOptions = {}) =>
    new ResNet(
      {
        inChannels: 3,
        stem: 'cifar',
        stemChannels: 64,
        stages: [64, 128, 256].map((planes, i) => ({ blocks: 3, planes, stride: i === 0 ? 1 : 2 })),
        groups,
        widthPerGroup,
        numClasses,
      },
      options,
    );
}

export interface SmallSpec {
  /** Cardinality C (1 makes the ResNet twin). */
  cardinality?: number;
  /** Channels per group in the first stage's grouped conv; doubles per stage. */
  groupWidth?: number;
  blocksPerStage?: number[];
  /** Block output channels per stage (each a multiple of 4). */
  channels?: number[];
  stemChannels?: number;
  inChannels?: number;
  numClasses?: number;
}

/** smallResnext()'s spec where none is given: the model `resnext train` trains. */
export const SMALL_RESNEXT_SPEC: Required<SmallSpec> = {
  cardinality: 8,
  groupWidth: 4,
  blocksPerStage: [2, 2, 2],
  channels: [64, 128, 256],
  stemChannels: 32,
  inChannels: 1,
  numClasses: 10,
};

/** A small ResNeXt for 28x28 single-channel images (Fashion-MNIST, MNIST). */
export function smallResnext(given: SmallSpec = {}, options: ResNetOptions = {}): ResNet {
  // Fields given as undefined (MODELS passes { numClasses } as it came) keep the default.
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const {
    cardinality,
    groupWidth,
    blocksPerStage,
    channels,
    stemChannels,
    inChannels,
    numClasses,
  }: Required<SmallSpec> = { ...SMALL_RESNEXT_SPEC, ...defined };
  const spec: ResNetSpec = {
    inChannels,
    stem: 'cifar',
    stemChannels,
    // width = floor(planes * widthPerGroup / 64) * groups; with planes = channels / 4, this
    // widthPerGroup gives groupWidth channels per group at the first stage, doubling after.
    stages: channels.map((c, i) => ({ blocks: blocksPerStage[i], planes: c / 4, stride: i === 0 ? 1 : 2 })),
    groups: cardinality,
    widthPerGroup: (groupWidth * 64) / (channels[0] / 4),
    numClasses,
  };
  return new ResNet(spec, options);
}

/** The ResNet twin of smallResnext: cardinality 1, its bottleneck width chosen to match the parameter count. */
export function smallResnet(spec: SmallSpec = {}, options: ResNetOptions = {}): ResNet {
  return smallResnext({ ...spec, cardinality: 1, groupWidth: SMALL_TWIN_WIDTH }, options);
}

/** smallResnet's first-stage bottleneck width: 18 gives 256,770 parameters and 30.95M MACs
 *  per image against smallResnext's 249,322 and 32.14M (17 would give 238,780 and 28.80M). */
export const SMALL_TWIN_WIDTH = 18;

export const MODELS: Record<ModelName, { create: (options?: ResNetOptions) => ResNet; input: number[] }> = {
  resnet50: { create: imagenet([3, 4, 6, 3], 1, 64), input: [3, 224, 224] },
  resnet101: { create: imagenet([3, 4, 23, 3], 1, 64), input: [3, 224, 224] },
  resnext50_32x4d: { create: imagenet([3, 4, 6, 3], 32, 4), input: [3, 224, 224] },
  resnext101_32x4d: { create: imagenet([3, 4, 23, 3], 32, 4), input: [3, 224, 224] },
  resnext101_32x8d: { create: imagenet([3, 4, 23, 3], 32, 8), input: [3, 224, 224] },
  resnext101_64x4d: { create: imagenet([3, 4, 23, 3], 64, 4), input: [3, 224, 224] },
  resnext29_8x64d: { create: resnext29(8, 64), input: [3, 32, 32] },
  resnext29_16x64d: { create: resnext29(16, 64), input: [3, 32, 32] },
  small_resnext: {
    create: ({ numClasses, ...options }: ResNetOptions = {}) => smallResnext({ numClasses }, options),
    input: [1, 28, 28],
  },
  small_resnet: {
    create: ({ numClasses, ...options }: ResNetOptions = {}) => smallResnet({ numClasses }, options),
    input: [1, 28, 28],
  },
};

export const resnet50 = MODELS.resnet50.create;
export const resnet101 = MODELS.resnet101.create;
export const resnext50_32x4d = MODELS.resnext50_32x4d.create;
export const resnext101_32x4d = MODELS.resnext101_32x4d.create;
export const resnext101_32x8d = MODELS.resnext101_32x8d.create;
export const resnext101_64x4d = MODELS.resnext101_64x4d.create;
export const resnext29_8x64d = MODELS.resnext29_8x64d.create;
export const resnext29_16x64d = MODELS.resnext29_16x64d.create;
