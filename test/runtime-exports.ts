export * from '../src/index.js';
export { bucketSize as bucketSizeForTest } from '../src/runtime/index.js';
