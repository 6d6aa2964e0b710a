// ONNX Runtime columns: onnxruntime-node on the CPU and with its WebGPU execution provider,
// and onnxruntime-web with WebGPU. Each runs a one-node model (onnx.ts). ONNX Runtime is an
// inference engine: it has no backward, so only forward rows.
import { setFlagsFromString } from 'node:v8';
import { importPeer, wallTime, type Contender, type Runner } from './contender.js';
import { copySharedWrites } from './dawn.js';
import { convModel, matmulModel } from './onnx.js';
import { pseudoRandom, type Workload } from './workloads.js';

interface OrtTensor {
  dispose(): void;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  Tensor: {
    new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
    fromGpuBuffer(buffer: GPUBuffer, options: { dataType: 'float32'; dims: readonly number[] }): OrtTensor;
  };
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
}
interface OrtWeb extends Ort {
  env: { logLevel: string; wasm: { numThreads: number }; webgpu: { device: Promise<GPUDevice> | GPUDevice } };
}

/** The model and its inputs' names and shapes, or why ONNX Runtime cannot run the workload. */
function modelFor(w: Workload): { model: Uint8Array; inputs: [string, number[]][] } | string {
  if (w.mode !== 'forward') return 'inference only: no backward';
  if (w.kind === 'matmul')
    return {
      model: matmulModel(w.M, w.K, w.N),
      inputs: [
        ['a', [w.M, w.K]],
        ['b', [w.K, w.N]],
      ],
    };
  const g = w.g;
  return {
    model: convModel(g),
    inputs: [
      ['x', [g.N, g.C_in, g.H, g.W]],
      ['w', [g.C_out, g.C_in / g.groups, g.kH, g.kW]],
    ],
  };
}

const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const CPU_THREADS = 2;

/** onnxruntime-node: inputs and outputs live on the CPU (its Node binding has no GPU-resident tensors). */
export function ortNode(provider: 'cpu' | 'webgpu'): Contender {
  let ort: Promise<Ort> | null = null;
  return {
    name: provider === 'cpu' ? 'ORT-node CPU' : 'ORT-node WebGPU',
    kind: provider === 'cpu' ? 'cpu' : 'webgpu',
    notes: [
      provider === 'cpu'
        ? `ORT-node CPU: onnxruntime-node, ${CPU_THREADS} intra-op threads that sleep when idle (allow_spinning 0), wall time of session.run`
        : "ORT-node WebGPU: onnxruntime-node's WebGPU provider (its own Dawn); wall time of session.run, which includes copying inputs to the device and the output back (the Node binding has no GPU-resident tensors)",
    ],
    async prepare(w) {
      const spec = modelFor(w);
      if (typeof spec === 'string') return spec;
      const lib = await (ort ??= importPeer<Ort>('onnxruntime-node', 'cjs'));
      const session = await lib.InferenceSession.create(spec.model, {
        executionProviders: [provider],
        intraOpNumThreads: CPU_THREADS,
        // Its idle threads would otherwise spin after every run, on the cores the next
        // contender runs on: that doubled ours and PyTorch's times on stage 3 and 4
        // (7.6 -> 14.5 ms), while ORT's own times were the same either way.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
      const feeds = Object.fromEntries(
        spec.inputs.map(([name, dims], i) => [name, new lib.Tensor('float32', pseudoRandom(count(dims), i + 1), dims)]),
      );
      return {
        run: () => wallTime(() => session.run(feeds)),
        dispose: () => session.release(),
      };
    },
  };
}

/** onnxruntime-web with WebGPU: inputs in GPU buffers and outputs left there, as in a browser app. */
export function ortWeb(): Contender {
  let ort: Promise<OrtWeb> | null = null;
  const load = async () => {
    // Its wasm is large: with V8's optimising tier, the first run waits about 50 s here for
    // background compilation. Its runs spend their time on the GPU, and measured the same
    // within noise with the baseline compiler alone.
    setFlagsFromString('--liftoff-only');
    const lib = await importPeer<OrtWeb>('onnxruntime-web/webgpu', 'esm');
    lib.env.logLevel = 'error';
    lib.env.wasm.numThreads = 1; // the GPU does the work; wasm threads would only compete for 2 cores
    return lib;
  };
  return {
    name: 'ORT-web WebGPU',
    kind: 'webgpu',
    notes: [
      "ORT-web WebGPU: onnxruntime-web on Dawn via navigator.gpu, inputs and outputs as GPU buffers; wall time of session.run until its queue is idle; its wasm runs under V8's baseline compiler only (--liftoff-only)",
    ],
    async prepare(w) {
      const spec = modelFor(w);
      if (typeof spec === 'string') return spec;
      const lib = await (ort ??= load());
      const session = await lib.InferenceSession.create(spec.model, {
        executionProviders: ['webgpu'],
        preferredOutputLocation: 'gpu-buffer',
      });
      // The device exists once a session does; a new one may come with each session.
      const device = await lib.env.webgpu.device;
      copySharedWrites(device);
      const buffers = spec.inputs.map(([, dims], i) => {
        const data = pseudoRandom(count(dims), i + 1);
        const buffer = device.createBuffer({
          size: data.byteLength,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        });
        device.queue.writeBuffer(buffer, 0, data);
        return buffer;
      });
      const feeds = Object.fromEntries(
        spec.inputs.map(([name, dims], i) => [
          name,
          lib.Tensor.fromGpuBuffer(buffers[i], { dataType: 'float32', dims }),
        ]),
      );
      const runner: Runner = {
        async run() {
          let outputs: Record<string, OrtTensor> = {};
          const sample = await wallTime(async () => {
            outputs = await session.run(feeds);
            await device.queue.onSubmittedWorkDone();
          });
          Object.values(outputs).forEach((t) => t.dispose());
          return sample;
        },
        async dispose() {
          await session.release();
          buffers.forEach((b) => b.destroy());
        },
      };
      return runner;
    },
  };
}
