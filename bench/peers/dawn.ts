// The browser-side WebGPU peers (onnxruntime-web, tfjs) look for `navigator.gpu`, which Node
// lacks: give them Dawn's, from the same `webgpu` package and adapter our runtime uses.
import { create } from 'webgpu';

/** Held for the life of the process: dawn.node crashes if this object is collected while
 *  a device it made is in use. Our runtime keeps its own, from its own create([]). */
let gpu: GPU | null = null;

export function installNavigatorGpu(): GPU {
  gpu ??= create([]);
  const current = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(Object.create(current), { gpu }),
    configurable: true,
    writable: true,
  });
  return gpu;
}

const patched = new WeakSet<GPUQueue>();

/**
 * onnxruntime-web's WebGPU path hands queue.writeBuffer views of its wasm memory, a
 * SharedArrayBuffer, which dawn.node rejects ("Invalid argument"): copy such data into an
 * ordinary buffer first. Other writes pass through untouched.
 */
export function copySharedWrites(device: GPUDevice): void {
  const queue = device.queue;
  if (patched.has(queue)) return;
  patched.add(queue);
  const write = queue.writeBuffer.bind(queue);
  queue.writeBuffer = (
    buffer: GPUBuffer,
    offset: number,
    // GPUAllowSharedBufferSource spelled out: its BufferSource half is a DOM type, and this
    // project's lib has no DOM, so the alias would resolve to an error type here.
    data: ArrayBufferView | ArrayBuffer | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ) => {
    const backing = ArrayBuffer.isView(data) ? data.buffer : data;
    if (!(backing instanceof SharedArrayBuffer)) return write(buffer, offset, data, dataOffset, size);
    // dataOffset and size count elements of a typed array, bytes otherwise.
    const element = ArrayBuffer.isView(data) ? ((data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1) : 1;
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    const start = (dataOffset ?? 0) * element;
    write(buffer, offset, bytes.slice(start, size === undefined ? undefined : start + size * element));
  };
}
