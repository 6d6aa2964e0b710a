// resnext-webgpu: the public API. Importing it acquires the WebGPU device (top-level
// await), so ops can run synchronously; call shutdown() to release it early.
import './ops/methods.js';
import { init } from './runtime/index.js';

await init();

export { init, shutdown, runtime, describeAdapter, type AdapterReport, type RuntimeStats } from './runtime/index.js';
export * from './errors.js';
export { Tensor, tidy } from './tensor.js';
export { noGrad, isGradEnabled } from './autograd.js';
export { tensor, randn, uniform, type TensorOptions, type RandomOptions } from './creation.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { add, sub, mul, div, neg, relu, exp, log, sqrt, expand } from './ops/elementwise.js';
export { sum, mean } from './ops/reduce.js';
export { matmul, linear } from './ops/matmul.js';
export { conv2d, type Conv2dOptions } from './ops/conv2d.js';
export { crossEntropy } from './ops/cross_entropy.js';
export { full, zeros, ones, zerosLike, onesLike, clone } from './ops/fill.js';
export { reshape, flatten } from './ops/shape.js';
export { cat, narrow, stridedSlice } from './ops/slice.js';
export { batchNorm, type BatchNormOptions } from './ops/batchnorm.js';
export { maxPool2d, adaptiveAvgPool2d1, type MaxPoolOptions } from './ops/pool.js';
export { zeroGrad } from './ops/methods.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export { saveSafetensors, loadSafetensors, readSafetensors, SafetensorsError, type SaveOptions, type SafetensorsFile } from './io/safetensors.js';
export * as optim from './optim/index.js';
