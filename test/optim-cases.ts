// The fused SGD kernel against the float64 reference (torch.optim.SGD's update); shared by
// the optimizer tests and the browser suite.
import { optim, tensor, type Generator } from '../src/index.js';
import { sgdStep } from '../src/reference/index.js';
import { assertClose, randomData } from './helpers.js';

export const SGD_SETTINGS = [
  { momentum: 0, nesterov: false, weightDecay: 0 },
  { momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
  { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
];

/** Five steps with the learning rate changing each step: parameters and momentum buffer. */
export async function checkSgdSteps(s: (typeof SGD_SETTINGS)[number], rng: Generator): Promise<void> {
  const n = 1001; // not a multiple of 4: the kernel works on vec4s
  let param = Array.from(randomData(rng, n));
  let buffer: number[] | null = null;
  const p = tensor(Float32Array.from(param), [7, 143], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: 0.1, ...s });
  for (let step = 0; step < 5; step++) {
    const grad = Array.from(randomData(rng, n));
    p.grad = tensor(Float32Array.from(grad), [7, 143]);
    opt.lr = 0.1 / (step + 1);
    opt.step();
    opt.zeroGrad();
    ({ param, buffer } = sgdStep(param, grad, buffer, { lr: opt.lr, ...s }));
  }
  const what = `sgd ${JSON.stringify(s)}`;
  assertClose(await p.toArray(), param, `${what}: parameters after 5 steps`, { rtol: 1e-5, atol: 1e-6 });
  if (buffer)
    assertClose(await opt.buffers[0]!.toArray(), buffer, `${what}: momentum buffer`, { rtol: 1e-5, atol: 1e-6 });
}
