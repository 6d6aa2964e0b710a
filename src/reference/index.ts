// The CPU reference: plain float64 TypeScript versions of every kernel, for tests.
export * from './array.js';
export * as elementwise from './elementwise.js';
export * as reduce from './reduce.js';
export { matmul } from './matmul.js';
export { crossEntropy } from './cross_entropy.js';
export { conv2d, conv2dGradInput, conv2dGradWeight, type ConvSpec } from './conv2d.js';
export { cat, narrow, stridedSlice } from './slice.js';
export { batchNorm, batchNormBackward, updatedRunningStats, type BatchNormSpec } from './batchnorm.js';
export { maxPool2d, type PoolSpec } from './pool.js';
export { resnetForward, type ReferenceResNetSpec } from './resnet.js';
export { sgdStep } from './sgd.js';
