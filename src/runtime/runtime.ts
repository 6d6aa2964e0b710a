// The one place that talks to the WebGPU device: kernel loading and the pipeline cache,
// buffer pools, uniform packing, command batching, readback, error and device-loss
// reporting. Ops call launch() (dispatch.ts); nothing else calls device.create*.
import { DeviceLostError, GPUFailure, KernelCompileError } from '../errors.js';
import { ErrorChecks } from './checks.js';
import type { Acquired, AdapterReport } from './device.js';
import { bindings, type Launch, type Workgroups } from './dispatch.js';
import { BufferPool, type PoolStats } from './pool.js';
import { Profiler, PROFILE_SLOTS, type ProfileRow } from './profiler.js';
import { compileErrorText } from './includes.js';
import { KernelLibrary } from './kernels.js';
import { platform } from './platform.js';
import { TuningCache } from './tuning.js';
import { UniformArena, type UniformData } from './uniforms.js';

const UNIFORM_ARENA_BYTES = 64 * 1024;
/** Submit once this much memory waits for a submit to become reusable: keeps peak memory
 *  near what is live, at the cost of a submit (tens of microseconds). */
const FLUSH_RELEASED_BYTES = 16 * 1024 * 1024;

export interface Dispatch {
  /** File name in kernels/ without `.wgsl`. */
  kernel: string;
  entry?: string;
  /** WGSL `override` constants: the pipeline cache keys on them. */
  constants?: Record<string, number>;
  /** Storage buffers bound to @binding(0..n-1) of @group(0), in order. */
  buffers: GPUBuffer[];
  /** The uniform struct, bound right after the buffers. */
  params?: UniformData;
  workgroups: Workgroups;
}

export interface RuntimeStats extends PoolStats {
  pipelines: number;
  submits: number;
  dispatches: number;
}

export class Runtime {
  readonly device: GPUDevice;
  readonly report: AdapterReport;
  readonly pool: BufferPool;
  /** Kernel variants the autotuner chose on this adapter (ops time and consult it). */
  readonly tuning: TuningCache;
  /** Keep every op on its portable kernel even where a subgroup kernel applies (tests and
   *  benches compare the two); RESNEXT_KERNELS=portable sets it at start. */
  portableKernels = platform().portableKernels;
  private gpu: GPU | null;
  private readonly staging: BufferPool;
  private readonly kernels = new KernelLibrary();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Kernels whose WGSL failed to compile: later dispatches of them throw at once. */
  private readonly broken = new Map<string, KernelCompileError>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformBytes = new UniformArena(new ArrayBuffer(UNIFORM_ARENA_BYTES));
  private readonly uniformAlign: number;
  private uniformOffset = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Set while time() records: the pass it opens writes timestamps at its start and end. */
  private timestampWrites: GPUComputePassTimestampWrites | null = null;
  private timer: { querySet: GPUQuerySet; resolved: GPUBuffer } | null = null;
  private profiler: Profiler | null = null;
  private readonly errors: ErrorChecks;
  private goneReason: string | null = null;
  private submits = 0;
  private dispatches = 0;

  constructor({ gpu, device, report }: Acquired) {
    this.gpu = gpu;
    this.device = device;
    this.report = report;
    this.errors = new ErrorChecks(device);
    this.tuning = new TuningCache(`${report.name} [${report.vendor}, ${report.backend}]`);
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.pool = new BufferPool(
      (size) => this.createBuffer(size, usage, 'tensor'),
      device.limits.maxStorageBufferBindingSize,
    );
    this.staging = new BufferPool((size) =>
      this.createBuffer(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'staging'),
    );
    this.uniformBuffer = device.createBuffer({
      size: UNIFORM_ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform arena',
    });
    void device.lost.then((info) => {
      this.goneReason ??= `device lost: ${info.message || info.reason}`;
    });
    device.addEventListener('uncapturederror', (event) => {
      event.preventDefault(); // reported as a typed error at the next sync instead of logged
      this.errors.report(new GPUFailure(`WebGPU error: ${event.error.message}`));
    });
  }

  /** Throws if the device is gone; every entry point that touches the GPU calls it. */
  assertAlive(): void {
    if (this.goneReason) throw new DeviceLostError(this.goneReason);
  }

  get alive(): boolean {
    return this.goneReason === null;
  }

  /** Swaps a kernel's or fragment's source in (tests prove a broken kernel is caught). */
  setKernelSource(name: string, source: string | null): void {
    this.kernels.replace(name, source);
    for (const kernel of [name, ...this.kernels.includers(name)]) {
      this.modules.delete(kernel);
      this.broken.delete(kernel);
      for (const key of [...this.pipelines.keys()]) if (key.startsWith(`${kernel}:`)) this.pipelines.delete(key);
    }
  }

  upload(data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
    this.assertAlive();
    const buffer = this.pool.acquire(data.byteLength);
    // A buffer fresh from the pool is referenced by no unsubmitted command, so the write
    // cannot overtake earlier work on it.
    if (data.byteLength > 0) this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** Overwrites a buffer that commands may already use: recorded work on it runs first. */
  write(buffer: GPUBuffer, data: Float32Array): void {
    this.assertAlive();
    this.flush();
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Dispatches what `l` states: its tensors bound by name for `op`'s errors. */
  launch(op: string, l: Launch): void {
    const { kernel, entry, constants, params } = l;
    this.dispatch({ kernel, entry, constants, params, buffers: bindings(op, l.bind), workgroups: l.grid });
  }

  dispatch(d: Dispatch): void {
    this.assertAlive();
    if (this.pool.pendingBytes > FLUSH_RELEASED_BYTES) this.flush();
    const pipeline = this.pipeline(d.kernel, d.entry ?? 'main', d.constants ?? {});
    const entries: GPUBindGroupEntry[] = d.buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    if (d.params) {
      const size = d.params.byteLength;
      if (this.uniformOffset + size > UNIFORM_ARENA_BYTES) this.flush();
      d.params.writeTo(this.uniformBytes, this.uniformOffset);
      entries.push({
        binding: entries.length,
        resource: { buffer: this.uniformBuffer, offset: this.uniformOffset, size },
      });
      this.uniformOffset += Math.ceil(size / this.uniformAlign) * this.uniformAlign;
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    if (this.profiler) {
      if (this.profiler.full) this.flush();
      this.endPass();
      const [start, end] = this.profiler.next(`${d.kernel}:${d.entry ?? 'main'}`);
      this.timestampWrites = {
        querySet: this.profiler.querySet,
        beginningOfPassWriteIndex: start,
        endOfPassWriteIndex: end,
      };
    }
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1);
    this.dispatches++;
    if (this.profiler) {
      this.endPass();
      this.timestampWrites = null;
    }
  }

  /** Starts timing every dispatch on its own (needs the timestamp-query feature). */
  startProfile(): void {
    if (!this.device.features.has('timestamp-query'))
      throw new GPUFailure('profiling needs the timestamp-query feature, which this adapter lacks');
    this.flush();
    this.profiler = new Profiler(
      this.device.createQuerySet({ type: 'timestamp', count: 2 * PROFILE_SLOTS }),
      this.device.createBuffer({
        size: 16 * PROFILE_SLOTS,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      }),
    );
  }

  /** Stops profiling; GPU milliseconds per kernel entry point since startProfile(), largest first. */
  async stopProfile(): Promise<ProfileRow[]> {
    const profiler = this.profiler;
    if (!profiler) return [];
    await this.sync();
    await Promise.all(profiler.pending);
    this.profiler = null;
    profiler.querySet.destroy();
    profiler.resolved.destroy();
    return profiler.rows();
  }

  /** Records a buffer-to-buffer copy in order with the dispatches around it. */
  copy(source: GPUBuffer, target: GPUBuffer, bytes: number, sourceOffset = 0, targetOffset = 0): void {
    this.assertAlive();
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
  }

  /** GPU time in ms of the work `record` dispatches, however many passes and submits it
   *  spans: timestamp queries where the adapter has them, else a synchronised wall time. */
  async time(record: () => void): Promise<number> {
    this.assertAlive();
    await this.sync();
    if (!this.device.features.has('timestamp-query')) {
      const started = performance.now();
      record();
      await this.sync();
      return performance.now() - started;
    }
    this.timer ??= {
      querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 }),
      resolved: this.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
    };
    this.timestampWrites = { querySet: this.timer.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 };
    try {
      record();
    } finally {
      this.timestampWrites = null;
    }
    this.endPass();
    this.commandEncoder().resolveQuerySet(this.timer.querySet, 0, 2, this.timer.resolved, 0);
    const [start, end] = new BigUint64Array(await this.read(this.timer.resolved, 16));
    return Number(end - start) / 1e6;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const readTimes = this.resolveProfile();
    const encoder = this.encoder;
    this.encoder = null;
    this.errors.watch(() => {
      if (this.uniformOffset > 0)
        this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformBytes.bytes, 0, this.uniformOffset);
      this.device.queue.submit([encoder.finish()]);
    }, 'submitting work');
    this.uniformOffset = 0;
    this.submits++;
    readTimes?.();
    this.pool.recycle();
    this.staging.recycle();
  }

  /** Records the resolve of this submit's timestamps; returns what reads them after the submit. */
  private resolveProfile(): (() => void) | null {
    const profiler = this.profiler;
    if (!profiler || profiler.labels.length === 0) return null;
    const labels = profiler.labels.splice(0);
    const bytes = 16 * labels.length;
    const staging = this.staging.acquire(bytes);
    this.encoder!.resolveQuerySet(profiler.querySet, 0, 2 * labels.length, profiler.resolved, 0);
    this.encoder!.copyBufferToBuffer(profiler.resolved, 0, staging, 0, bytes);
    return () => {
      const done: Promise<void> = platform()
        .awaitGpu(() => staging.mapAsync(GPUMapMode.READ, 0, bytes))
        .then(() => {
          profiler.add(labels, new BigUint64Array(staging.getMappedRange(0, bytes).slice(0)));
          staging.unmap();
          this.staging.release(staging);
          profiler.pending.delete(done);
        });
      profiler.pending.add(done);
    };
  }

  /** Copies `bytes` of a buffer back to the CPU, after all work recorded before it. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.assertAlive();
    const staging = this.staging.acquire(Math.max(4, bytes));
    this.copy(buffer, staging, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await platform().awaitGpu(() => staging.mapAsync(GPUMapMode.READ, 0, staging.size));
    } catch (e) {
      this.assertAlive();
      await this.throwPendingErrors();
      throw new GPUFailure(`reading back a buffer failed: ${String(e)}`);
    }
    const result = staging.getMappedRange(0, staging.size).slice(0, bytes);
    staging.unmap();
    this.staging.release(staging);
    await this.throwPendingErrors();
    return result;
  }

  /** Waits for all submitted work, then throws any error it produced. */
  async sync(): Promise<void> {
    this.assertAlive();
    this.flush();
    await platform().awaitGpu(() => this.device.queue.onSubmittedWorkDone());
    await this.throwPendingErrors();
  }

  stats(): RuntimeStats {
    return { ...this.pool.stats(), pipelines: this.pipelines.size, submits: this.submits, dispatches: this.dispatches };
  }

  /** Submits outstanding work, waits for it, destroys the device and lets go of Dawn. */
  async destroy(): Promise<void> {
    if (this.gpu === null) return;
    if (this.alive) await this.sync().catch(() => undefined);
    this.goneReason ??= 'the runtime was shut down';
    this.device.destroy();
    this.gpu = null;
  }

  private throwPendingErrors(): Promise<void> {
    return this.errors.throwPending();
  }

  private createBuffer(size: number, usage: number, label: string): GPUBuffer {
    let buffer!: GPUBuffer;
    this.errors.watch(
      () => (buffer = this.device.createBuffer({ size, usage, label })),
      `allocating a ${size}-byte ${label} buffer`,
    );
    return buffer;
  }

  /** A short digest of a kernel's source: tuning choices made for one version of a kernel
   *  are keyed by it, so an edited kernel is timed afresh. */
  kernelDigest(kernel: string): string {
    return this.kernels.digest(kernel);
  }

  private shaderModule(kernel: string): GPUShaderModule {
    let module = this.modules.get(kernel);
    if (module) return module;
    this.device.pushErrorScope('validation');
    const code = this.kernels.source(kernel);
    module = this.device.createShaderModule({ code, label: `kernels/${kernel}.wgsl` });
    const scope = this.device.popErrorScope();
    this.errors.check(
      module.getCompilationInfo().then(async (info) => {
        await scope;
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length === 0) return null;
        const error = new KernelCompileError(compileErrorText(kernel, code, errors));
        this.broken.set(kernel, error);
        return error;
      }),
    );
    this.modules.set(kernel, module);
    return module;
  }

  private pipeline(kernel: string, entry: string, constants: Record<string, number>): GPUComputePipeline {
    const broken = this.broken.get(kernel);
    if (broken) throw broken;
    const names = Object.keys(constants).sort();
    const key = `${kernel}:${entry}:${names.map((n) => `${n}=${constants[n]}`).join(',')}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const module = this.shaderModule(kernel);
      this.errors.watch(() => {
        pipeline = this.device.createComputePipeline({
          layout: 'auto',
          compute: { module, entryPoint: entry, constants },
          label: key,
        });
      }, `building pipeline ${key}`);
      this.pipelines.set(key, pipeline!);
    }
    return pipeline!;
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    const timestampWrites = this.timestampWrites;
    this.pass = this.commandEncoder().beginComputePass(timestampWrites ? { timestampWrites } : {});
    // What time() measures may span passes (a copy or a submit ends one): the first writes
    // the start, each its end. (The profiler's per-dispatch writes have no timer query set.)
    if (timestampWrites && timestampWrites.querySet === this.timer?.querySet)
      this.timestampWrites = { querySet: timestampWrites.querySet, endOfPassWriteIndex: 1 };
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}
