// Model names, importable without the engine (the CLI checks arguments before it starts a device).
export const MODEL_NAMES = [
  'resnet50',
  'resnet101',
  'resnext50_32x4d',
  'resnext101_32x4d',
  'resnext101_32x8d',
  'resnext101_64x4d',
  'resnext29_8x64d',
  'resnext29_16x64d',
  'small_resnext',
  'small_resnet',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];
