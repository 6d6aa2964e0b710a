// The engine's API, the same in Node and in pages: no file system and no Dawn here. The
// package's entries (src/index.ts for Node, src/browser.ts for pages) install their
// platform, acquire the device and re-export all of this.
import './ops/methods.js';

export { init, shutdown, runtime, describeAdapter, type AdapterReport, type RuntimeStats } from './runtime/index.js';
export { setPlatform, type Platform, type TuningStore } from './runtime/platform.js';
export * from './errors.js';
export { Tensor, tidy } from './tensor.js';
export { noGrad, isGradEnabled } from './autograd.js';
export { tensor, randn, uniform, type TensorOptions, type RandomOptions } from './creation.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { add, sub, mul, div, neg, relu, exp, log, sqrt, expand } from './ops/elementwise.js';
export { sum, mean } from './ops/reduce.js';
export { matmul, linear } from './ops/matmul.js';
export { conv2d, type Conv2dOptions } from './ops/conv2d/index.js';
export { crossEntropy } from './ops/cross_entropy.js';
export { full, zeros, ones, zerosLike, onesLike, clone } from './ops/fill.js';
export { reshape, flatten } from './ops/shape.js';
export { cat, narrow, stridedSlice } from './ops/slice.js';
export { batchNorm, type BatchNormOptions } from './ops/batchnorm.js';
export { maxPool2d, adaptiveAvgPool2d1, type MaxPoolOptions } from './ops/pool.js';
export { zeroGrad } from './ops/methods.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export {
  encodeSafetensors,
  serializeSafetensors,
  parseSafetensors,
  SafetensorsError,
  toHalf,
  fromHalf,
  type SaveOptions,
  type SafetensorsFile,
} from './io/safetensors.js';
export * as optim from './optim/index.js';
export { exportOnnx, OPSET as ONNX_OPSET, type OnnxExportOptions } from './export/onnx.js';
export { prepareImage, type ImageTarget, type PrepareOptions, type PreparedImage } from './data/image-prep.js';
export {
  classify,
  classifierInfo,
  loadClassifier,
  datasetMetadata,
  softmax,
  DATASET_METADATA_KEY,
  type ClassifierInfo,
  type DatasetInfo,
  type Prediction,
} from './pretrained/classifier.js';
