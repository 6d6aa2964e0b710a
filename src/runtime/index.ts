// The process-wide runtime: one device at a time, created by init() and ended by shutdown().
import { DeviceLostError } from '../errors.js';
import { acquireDevice } from './device.js';
import { Runtime } from './runtime.js';

export { Runtime, type Dispatch, type RuntimeStats } from './runtime.js';
export { grid, linearGrid, WORKGROUPS_PER_DIMENSION, type Launch, type Workgroups } from './dispatch.js';
export { kernelContract, type KernelContract } from './contracts.js';
export { u32x4Array, uniformStruct, type UniformData, type UniformStruct } from './uniforms.js';
export { describeAdapter, type AdapterReport } from './device.js';
export { bucketSize } from './pool.js';
export { TuningCache } from './tuning.js';
export type { ProfileRow } from './profiler.js';

let current: Runtime | null = null;

/** Acquires the adapter and device (once; later calls return the same runtime). */
export async function init(): Promise<Runtime> {
  if (current?.alive) return current;
  current = new Runtime(await acquireDevice());
  return current;
}

/** The live runtime; throws a DeviceLostError if there is none. */
export function runtime(): Runtime {
  if (!current) throw new DeviceLostError('no device: call init() first');
  current.assertAlive();
  return current;
}

/** Finishes outstanding GPU work and releases the device, so the process can exit. */
export async function shutdown(): Promise<void> {
  await current?.destroy();
}
