// GPU time per kernel for one training step (forward, backward, SGD update), from
// timestamp queries: `resnext train --profile` and bench/profile.ts.
import { tensor } from '../creation.js';
import type { ResNet } from '../models/resnet.js';
import { traceConv2d, tuneConv2d } from '../ops/conv2d/index.js';
import { SGD } from '../optim/sgd.js';
import { Generator } from '../random.js';
import { runtime, type ProfileRow } from '../runtime/index.js';
import { tidy } from '../tensor.js';
import { sgdStep } from './step.js';

export async function profileStep(
  model: ResNet,
  imageShape: number[],
  batch: number,
  classes: number,
): Promise<ProfileRow[]> {
  const rng = new Generator(0);
  const x = Float32Array.from({ length: batch * imageShape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const labels = Array.from({ length: batch }, (_, i) => i % classes);
  const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const step = () => tidy(() => void sgdStep(model, optimizer, tensor(x, [batch, ...imageShape]), labels));
  model.train();
  // As training does: the first step picks each convolution's kernels, the next compiles them.
  const stopTrace = traceConv2d();
  step();
  await tuneConv2d(stopTrace());
  step();
  await runtime().sync();
  runtime().startProfile();
  step();
  const rows = await runtime().stopProfile();
  optimizer.buffers.forEach((b) => b?.dispose());
  return rows;
}

export function formatProfile(rows: ProfileRow[], title: string): string {
  const total = rows.reduce((t, r) => t + r.totalMs, 0);
  return [
    `${title}: ${total.toFixed(1)} ms of GPU time`,
    '     ms      %  calls  kernel:entry',
    ...rows.map(
      (r) =>
        `${r.totalMs.toFixed(1).padStart(7)} ${((100 * r.totalMs) / total).toFixed(1).padStart(6)} ${String(r.calls).padStart(6)}  ${r.kernel}`,
    ),
  ].join('\n');
}
