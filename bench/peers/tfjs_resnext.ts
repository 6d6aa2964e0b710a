// The small ResNeXt of src/models/resnet.ts written with TensorFlow.js ops (NHWC), for the
// training row of `bench:peers`: torchvision's bottleneck (1x1, grouped 3x3 carrying the
// stride, 1x1, each with BatchNorm; a 1x1 + BN projection where the shape changes), the
// 'cifar' stem, global average pooling and one linear layer. BatchNorm uses the batch's
// statistics and updates running ones, as in training mode. Plain ops rather than
// tfjs-layers, which has no grouped convolution either.
import { convolution, type Tf, type TfTensor } from './tfjs.js';
import { pseudoRandom, type TrainingWorkload } from './workloads.js';

interface TfVariable extends TfTensor {
  readonly size: number;
  assign(value: TfTensor): void;
}
interface TfScalar extends TfTensor {
  data(): Promise<Float32Array>;
}
interface TfOptimizer {
  minimize(f: () => TfTensor, returnCost: true, varList: TfVariable[]): TfScalar;
  dispose(): void;
}
/** The members of the tfjs namespace the model uses, beyond those tfjs.ts declares. */
export interface TfTraining extends Tf {
  variable(initial: TfTensor, trainable?: boolean): TfVariable;
  randomNormal(shape: number[], mean: number, stdDev: number, dtype: 'float32', seed: number): TfTensor;
  zeros(shape: number[]): TfTensor;
  ones(shape: number[]): TfTensor;
  tensor1d(values: Int32Array, dtype: 'int32'): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  moments(x: TfTensor, axes: number[]): { mean: TfTensor; variance: TfTensor };
  batchNorm(
    x: TfTensor,
    mean: TfTensor,
    variance: TfTensor,
    offset: TfTensor,
    scale: TfTensor,
    epsilon: number,
  ): TfTensor;
  relu(x: TfTensor): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  mul(a: TfTensor, b: number): TfTensor;
  mean(x: TfTensor, axes: number[]): TfTensor;
  losses: { softmaxCrossEntropy(onehotLabels: TfTensor, logits: TfTensor): TfTensor };
  train: { momentum(lr: number, momentum: number): TfOptimizer };
}

type Layer = (x: TfTensor) => TfTensor;

/** torch.nn.BatchNorm2d's defaults. */
const BN = { epsilon: 1e-5, momentum: 0.1 };

export interface TfTrainingStep {
  parameters: number;
  /** One SGD step; resolves with its loss once tfjs has read it back. */
  step(): Promise<number>;
  dispose(): void;
}

export function resnextTraining(tf: TfTraining, w: TrainingWorkload): TfTrainingStep {
  const trainable: TfVariable[] = [];
  const running: TfVariable[] = [];
  let seed = 0;
  const keep = (into: TfVariable[], value: TfTensor, train = true) => {
    const v = tf.variable(value, train);
    value.dispose();
    into.push(v);
    return v;
  };

  // Kaiming normal (fan out) as ours and torchvision initialise convolutions; the values
  // only need to keep the loss finite, the timing does not depend on them.
  const conv = (cin: number, cout: number, k: number, stride = 1, groups = 1): Layer => {
    const f = keep(
      trainable,
      tf.randomNormal([k, k, cin / groups, cout], 0, Math.sqrt(2 / (k * k * cout)), 'float32', seed++),
    );
    const run = convolution(tf, groups, stride, (k - 1) / 2);
    return (x) => run(x, f);
  };
  const batchNorm = (c: number): Layer => {
    const [scale, offset] = [keep(trainable, tf.ones([c])), keep(trainable, tf.zeros([c]))];
    const [runningMean, runningVariance] = [keep(running, tf.zeros([c]), false), keep(running, tf.ones([c]), false)];
    const update = (r: TfVariable, batch: TfTensor) =>
      r.assign(tf.add(tf.mul(r, 1 - BN.momentum), tf.mul(batch, BN.momentum)));
    return (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      update(runningMean, mean);
      update(runningVariance, variance);
      return tf.batchNorm(x, mean, variance, offset, scale, BN.epsilon);
    };
  };
  const convBn = (...args: Parameters<typeof conv>): Layer => {
    const [c, bn] = [conv(...args), batchNorm(args[1])];
    return (x) => bn(c(x));
  };

  const { spec } = w;
  const relu: Layer = (x) => tf.relu(x);
  const layers: Layer[] = [convBn(spec.inChannels, spec.stemChannels, 3), relu];
  let cin = spec.stemChannels;
  spec.channels.forEach((cout, stage) => {
    // As src/models/index.ts: groupWidth channels per group at the first stage, doubling after.
    const width = Math.floor((cout * spec.groupWidth) / spec.channels[0]) * spec.cardinality;
    for (let b = 0; b < spec.blocksPerStage[stage]; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const main = [
        convBn(cin, width, 1),
        relu,
        convBn(width, width, 3, stride, spec.cardinality),
        relu,
        convBn(width, cout, 1),
      ];
      const shortcut = stride !== 1 || cin !== cout ? convBn(cin, cout, 1, stride) : (x: TfTensor) => x;
      layers.push((x) =>
        tf.relu(
          tf.add(
            main.reduce((h, layer) => layer(h), x),
            shortcut(x),
          ),
        ),
      );
      cin = cout;
    }
  });
  const fcWeight = keep(trainable, tf.randomNormal([cin, spec.numClasses], 0, 1 / Math.sqrt(cin), 'float32', seed++));
  const fcBias = keep(trainable, tf.zeros([spec.numClasses]));
  layers.push((x) => tf.add(tf.matMul(tf.mean(x, [1, 2]), fcWeight), fcBias));

  const [c, h, wd] = w.input;
  const x = tf.tensor(pseudoRandom(w.batch * c * h * wd), [w.batch, h, wd, c]);
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Int32Array.from({ length: w.batch }, (_, i) => i % spec.numClasses),
        'int32',
      ),
      spec.numClasses,
    ),
  );
  const optimizer = tf.train.momentum(w.lr, w.momentum);
  const loss = () =>
    tf.losses.softmaxCrossEntropy(
      labels,
      layers.reduce((h, layer) => layer(h), x),
    );
  return {
    parameters: trainable.reduce((n, v) => n + v.size, 0),
    async step() {
      const cost = optimizer.minimize(loss, true, trainable);
      try {
        return (await cost.data())[0];
      } finally {
        cost.dispose();
      }
    },
    dispose() {
      tf.dispose([...trainable, ...running, x, labels]);
      optimizer.dispose();
    },
  };
}
