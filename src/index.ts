// resnext-webgpu in Node: Dawn's WebGPU (the `webgpu` package), safetensors files, and
// everything in the core API. Importing it acquires the device (top-level await), so ops
// can run synchronously; call shutdown() to release it early, so the process can exit.
import { installNodePlatform } from './node/platform.js';
import { init } from './runtime/index.js';

installNodePlatform();
await init();

export * from './core.js';
export { saveSafetensors, loadSafetensors, readSafetensors } from './node/safetensors-file.js';
