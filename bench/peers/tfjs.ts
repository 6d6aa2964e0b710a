// TensorFlow.js with its WebGPU backend, on Dawn through navigator.gpu. tfjs has no
// grouped convolution: like a tfjs user, split the input and filter by group, convolve each
// and concatenate; a depthwise shape uses tf.depthwiseConv2d. Layout NHWC, tfjs's native one.
// The training step's model is in tfjs_resnext.ts.
import { importPeer, wallTime, type Contender } from './contender.js';
import { resnextTraining, type TfTraining } from './tfjs_resnext.js';
import { checkParameters, pseudoRandom } from './workloads.js';

/** The members of a tfjs tensor and of the tfjs namespace used here. */
export interface TfTensor {
  dispose(): void;
}
type Pad = number;
export interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  backend(): WebGPUBackend;
  tensor(values: Float32Array, shape: number[]): TfTensor;
  tidy<T>(fn: () => T): T;
  dispose(t: TfTensor | TfTensor[]): void;
  split(x: TfTensor, parts: number, axis: number): TfTensor[];
  concat(xs: TfTensor[], axis: number): TfTensor;
  conv2d(x: TfTensor, filter: TfTensor, strides: number, pad: Pad): TfTensor;
  depthwiseConv2d(x: TfTensor, filter: TfTensor, strides: number, pad: Pad): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  grads(f: (...args: TfTensor[]) => TfTensor): (args: TfTensor[], dy: TfTensor) => TfTensor[];
}
/** tfjs-backend-webgpu's backend object: these members are public in its JavaScript. */
interface WebGPUBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

async function load(): Promise<Tf> {
  // The umbrella package: tfjs-core alone registers no gradients.
  const tf = await importPeer<Tf>('@tensorflow/tfjs', 'cjs');
  await importPeer('@tensorflow/tfjs-backend-webgpu', 'cjs'); // registers 'webgpu' if navigator.gpu exists
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
  await tf.ready();
  return tf;
}

/**
 * tfjs submits every 15 dispatches and leaves the rest recorded: end its pass, submit
 * what is left and wait for the queue, or the time would cover only part of the work.
 */
async function finish(tf: Tf): Promise<void> {
  const backend = tf.backend();
  backend.endComputePassEncoder();
  if (backend.commandEncoder) backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

/**
 * The convolution as a tfjs user writes it, on NHWC x and HWIO filter: tfjs has no grouped
 * conv2d, so a grouped one splits input and filter by group and concatenates the outputs.
 */
export function convolution(
  tf: Tf,
  groups: number,
  stride: number,
  padding: number,
  depthwise = false,
): (x: TfTensor, f: TfTensor) => TfTensor {
  if (groups === 1) return (x, f) => tf.conv2d(x, f, stride, padding);
  if (depthwise) return (x, f) => tf.depthwiseConv2d(x, f, stride, padding);
  return (x, f) => {
    const xs = tf.split(x, groups, 3);
    const fs = tf.split(f, groups, 3);
    return tf.concat(
      xs.map((xg, i) => tf.conv2d(xg, fs[i], stride, padding)),
      3,
    );
  };
}

export function tfjs(): Contender {
  let lib: Promise<Tf> | null = null;
  return {
    name: 'tfjs WebGPU',
    kind: 'webgpu',
    notes: [
      'tfjs WebGPU: @tensorflow/tfjs with tfjs-backend-webgpu, NHWC; grouped conv as split by group + conv2d per group + concat (tfjs has none), depthwise as tf.depthwiseConv2d; fwd+bwd via tf.grads; wall time until its queue is idle. Training: the model in tf ops (tfjs_resnext.ts, grouped convs split the same way), optimizer.minimize with tf.train.momentum',
    ],
    async prepare(w) {
      const tf = await (lib ??= load());
      const tensor = (shape: number[], seed: number) =>
        tf.tensor(
          pseudoRandom(
            shape.reduce((a, b) => a * b, 1),
            seed,
          ),
          shape,
        );
      let inputs: TfTensor[];
      let step: () => TfTensor[];
      if (w.kind === 'matmul') {
        inputs = [tensor([w.M, w.K], 1), tensor([w.K, w.N], 2)];
        step = () => [tf.matMul(inputs[0], inputs[1])];
      } else {
        const g = w.g;
        const depthwise = g.groups > 1 && g.groups === g.C_in;
        // HWIO filter; a depthwise one is [kH, kW, C, 1].
        const filterShape = depthwise ? [g.kH, g.kW, g.C_in, 1] : [g.kH, g.kW, g.C_in / g.groups, g.C_out];
        inputs = [
          tensor([g.N, g.H, g.W, g.C_in], 1),
          tensor(filterShape, 2),
          tensor([g.N, g.H_out, g.W_out, g.C_out], 3),
        ];
        const conv = convolution(tf, g.groups, g.stride[0], g.padding[0], depthwise);
        const [x, f, dy] = inputs;
        const grads = tf.grads(conv);
        step = w.mode === 'forward' ? () => [conv(x, f)] : () => grads([x, f], dy);
      }
      return {
        async run() {
          let outputs: TfTensor[] = [];
          const sample = await wallTime(async () => {
            outputs = tf.tidy(step);
            await finish(tf);
          });
          tf.dispose(outputs);
          return sample;
        },
        dispose: () => tf.dispose(inputs),
      };
    },
    async prepareTraining(w) {
      const tf = (await (lib ??= load())) as TfTraining;
      const model = resnextTraining(tf, w);
      try {
        checkParameters('tfjs', model.parameters, w);
      } catch (e) {
        model.dispose();
        throw e;
      }
      return {
        // The loss read back covers the step's forward and backward; finish() waits for its update too.
        run: () => wallTime(() => model.step().then(() => finish(tf))),
        dispose: () => model.dispose(),
      };
    },
  };
}
