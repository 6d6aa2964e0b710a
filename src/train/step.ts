// One SGD training step, as `resnext train`, `--profile` and bench:peers take it.
import type { ResNet } from '../models/resnet.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import type { SGD } from '../optim/sgd.js';
import type { Tensor } from '../tensor.js';

/** Forward, cross-entropy, backward and the optimizer's update; call it inside tidy(). */
export function sgdStep(
  model: ResNet,
  optimizer: SGD,
  images: Tensor,
  labels: ArrayLike<number>,
): { loss: Tensor; logits: Tensor } {
  const logits = model.forward(images);
  const loss = crossEntropy(logits, labels);
  loss.backward();
  optimizer.step();
  optimizer.zeroGrad();
  return { loss, logits };
}
