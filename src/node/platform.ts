// The Node platform: Dawn's WebGPU (the `webgpu` package) with its globals, Dawn's
// polling put on a timer while we wait, the tuning cache in a file, and the kernel choice
// from RESNEXT_KERNELS. Installed by the package's Node entry before init().
import { create, globals } from 'webgpu';
import { awaitGpu } from '../runtime/polling.js';
import { setPlatform } from '../runtime/platform.js';
import { fileTuningStore } from './tuning-file.js';

const DAWN_BACKEND: Record<string, string> = { linux: 'vulkan', darwin: 'metal', win32: 'd3d12' };

export function installNodePlatform(): void {
  Object.assign(globalThis, globals);
  setPlatform({
    gpu: () => create([]),
    backend: DAWN_BACKEND[process.platform] ?? process.platform,
    noAdapterAdvice:
      "This engine needs a Vulkan driver that Dawn accepts: run 'npm run setup' (on Debian bookworm as root it " +
      "installs Mesa's software driver, lavapipe, from bookworm-backports), or install your GPU's Vulkan driver.",
    awaitGpu,
    openTuningStore: fileTuningStore,
    portableKernels: process.env.RESNEXT_KERNELS === 'portable',
  });
}
