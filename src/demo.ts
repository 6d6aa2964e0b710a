// The quick-start job until ResNeXt training lands: a 2-layer MLP learns to tell three
// interleaved spirals apart, every multiply, gradient and update on the GPU.
import {
  crossEntropy,
  linear,
  noGrad,
  relu,
  sub,
  mul,
  tidy,
  randn,
  zeros,
  zeroGrad,
  Generator,
  tensor,
  Tensor,
} from './index.js';

export interface DemoOptions {
  steps?: number;
  hidden?: number;
  lr?: number;
  seed?: number;
  /** Called every `every` steps with the current loss. */
  onLoss?: (step: number, loss: number) => void;
  every?: number;
}

/** Three spirals of `perClass` points each: inputs [n, 2], labels in 0..2. */
export function spirals(perClass: number, rng: Generator): { x: Float32Array; y: number[] } {
  const x = new Float32Array(perClass * 3 * 2);
  const y: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < perClass; i++) {
      const r = i / perClass;
      const angle = (c * 2 * Math.PI) / 3 + r * 4 + rng.normal() * 0.15;
      const n = y.length;
      x[2 * n] = r * Math.sin(angle);
      x[2 * n + 1] = r * Math.cos(angle);
      y.push(c);
    }
  }
  return { x, y };
}

/** Trains full-batch with plain gradient descent; returns the losses at each reported step. */
export async function trainSpiralMlp({
  steps = 300,
  hidden = 64,
  lr = 1,
  seed = 0,
  onLoss,
  every = 25,
}: DemoOptions = {}): Promise<number[]> {
  const rng = new Generator(seed);
  const data = spirals(100, rng);
  const x = tensor(data.x, [data.y.length, 2]);
  let params: Tensor[] = [
    randn([hidden, 2], { generator: rng, std: Math.sqrt(2 / 2), requiresGrad: true }),
    zeros([hidden], { requiresGrad: true }),
    randn([3, hidden], { generator: rng, std: Math.sqrt(1 / hidden), requiresGrad: true }),
    zeros([3], { requiresGrad: true }),
  ];
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => {
      const [w1, b1, w2, b2] = params;
      const l = crossEntropy(linear(relu(linear(x, w1, b1)), w2, b2), data.y);
      l.backward();
      return l;
    });
    const next = tidy(() => noGrad(() => params.map((p) => sub(p, mul(p.grad!, lr)))));
    zeroGrad(params);
    params.forEach((p) => p.dispose());
    params = next.map((p) => ((p.requiresGrad = true), p));
    if (step % every === 0 || step === 1) {
      const value = await loss.item();
      losses.push(value);
      onLoss?.(step, value);
    }
    loss.dispose();
  }
  params.forEach((p) => p.dispose());
  x.dispose();
  return losses;
}
