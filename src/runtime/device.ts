// Adapter and device acquisition, through the platform's WebGPU entry point. In Node the
// object returned by Dawn's create() must stay referenced for as long as its device lives
// (dawn.node crashes if it is collected while the device is in use), so it is handed to
// the Runtime, which holds it until destroy().
import { NoAdapterError } from '../errors.js';
import { platform } from './platform.js';

export interface AdapterReport {
  name: string;
  vendor: string;
  architecture: string;
  /** Dawn's backend for this platform (Vulkan on Linux), or the browser's WebGPU. */
  backend: string;
  /** True for CPU/software adapters such as Mesa's lavapipe: their timings are not GPU timings. */
  software: boolean;
  features: string[];
  /** The subgroup size when the device has subgroups and the adapter fixes their size
   *  (lavapipe: its SIMD width); kernels that plan their work around it need it fixed. */
  subgroupSize: number | null;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface Acquired {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  report: AdapterReport;
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups'];
/** Limits a large model needs, requested up to what the adapter allows. */
const LIMITS_TO_RAISE = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** `gpu` is the platform's entry point unless a test passes a stand-in. */
export async function acquireDevice(gpu: GPU | null = platform().gpu()): Promise<Acquired> {
  const advice = platform().noAdapterAdvice;
  if (!gpu) throw new NoAdapterError('this environment has no WebGPU entry point', advice);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch((e: unknown) => {
    throw new NoAdapterError(`requestAdapter failed: ${String(e)}`, advice);
  });
  if (!adapter) throw new NoAdapterError('requestAdapter returned no adapter', advice);
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_TO_RAISE) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const report: AdapterReport = {
    name: info.description || info.device || info.architecture || 'unknown adapter',
    vendor: info.vendor,
    architecture: info.architecture,
    backend: platform().backend,
    software:
      (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
      /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.vendor} ${info.architecture} ${info.description}`),
    features: [...device.features].sort(),
    subgroupSize: fixedSubgroupSize(device, info),
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    maxBufferSize: device.limits.maxBufferSize,
  };
  return { gpu, adapter, device, report };
}

/** A size that varies (subgroupMinSize != subgroupMaxSize, e.g. Intel) is reported as null:
 *  the subgroup kernels plan lanes and dispatch sizes around one fixed size, so those
 *  adapters run the portable kernels (src/ops/subgroup_plan.ts). */
function fixedSubgroupSize(device: GPUDevice, info: GPUAdapterInfo): number | null {
  const { subgroupMinSize: min, subgroupMaxSize: max } = info as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return device.features.has('subgroups') && min !== undefined && min === max && min >= 4 ? min : null;
}

export function describeAdapter(r: AdapterReport): string {
  const kind = r.software ? 'CPU/software adapter: timings are not GPU timings' : 'hardware adapter';
  return `${r.name} [${r.vendor}, ${r.backend}] (${kind})`;
}
