// BatchNorm cases shared by the batchnorm tests and their mutants.
import { batchNorm, tensor, type Tensor } from '../src/index.js';
import {
  batchNorm as refBatchNorm,
  batchNormBackward,
  elementwise,
  nd,
  updatedRunningStats,
  type NDArray,
} from '../src/reference/index.js';
import { assertClose, expectMatches, gradcheck, randomData, rngFor } from './helpers.js';

/** One plane per invocation (2048 planes or more), and planes over 1024 elements split in
 *  two, with vec4 and with scalar loads. */
export const SEGMENT_SHAPES = [
  [2, 1024, 3, 5],
  [1, 2048, 1, 1028],
  [1, 2048, 3, 343],
];

/** Training with the fused ReLU: output, running variance and all three gradients. */
export async function checkTrainingCase(shape: number[]): Promise<void> {
  const rng = rngFor(`bn segments ${shape.join(',')}`);
  const C = shape[1];
  const n = shape.reduce((a, b) => a * b, 1);
  const spec = { training: true, relu: true, eps: 1e-5, momentum: 0.1 };
  const [xd, gd, wd, bd] = [
    randomData(rng, n, { lo: -2, hi: 3 }),
    randomData(rng, n),
    randomData(rng, C, { gap: 0.3 }),
    randomData(rng, C),
  ];
  const [md, vd] = [new Float32Array(C), new Float32Array(C).fill(1)];
  const x = tensor(xd, shape, { requiresGrad: true });
  const [w, b] = [tensor(wd, [C], { requiresGrad: true }), tensor(bd, [C], { requiresGrad: true })];
  const rv = tensor(vd, [C]);
  const y = batchNorm(x, tensor(md, [C]), rv, w, b, spec);
  y.backward(tensor(gd, shape));
  const refs = [nd(xd, shape), nd(md, [C]), nd(vd, [C]), nd(wd, [C]), nd(bd, [C])] as const;
  const what = `bn ${JSON.stringify(shape)}`;
  await expectMatches(y, refBatchNorm(...refs, spec), what, { rtol: 1e-4, atol: 1e-4 });
  assertClose(
    await rv.toArray(),
    updatedRunningStats(refs[0], refs[1], refs[2], 0.1).variance,
    `${what}: running_var`,
    { rtol: 1e-5, atol: 1e-6 },
  );
  const grads = batchNormBackward(refs[0], nd(gd, shape), refs[1], refs[2], refs[3], refs[4], spec);
  await expectMatches(x.grad!, grads.x, `${what}: grad input`, { rtol: 1e-3, atol: 1e-4 });
  await expectMatches(w.grad!, grads.weight, `${what}: grad weight`, { rtol: 1e-3, atol: 1e-2 });
  await expectMatches(b.grad!, grads.bias, `${what}: grad bias`, { rtol: 1e-3, atol: 1e-2 });
}

/** A residual added before the ReLU (and without it): output, and gradcheck of x, weight,
 *  bias and the residual. Two channels; planes of 6 take scalar loads, of 16 vec4s. */
export async function checkResidualCase(training: boolean, relu: boolean, shape = [3, 2, 3, 2]): Promise<void> {
  const rng = rngFor(`bn residual ${training} ${relu} ${shape.join(',')}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const running = { mean: randomData(rng, 2), variance: randomData(rng, 2, { lo: 0.5, hi: 2 }) };
  const reference = (x: NDArray, w: NDArray, b: NDArray, r: NDArray) => {
    const sum = elementwise.binary(
      'add',
      refBatchNorm(x, nd(running.mean, [2]), nd(running.variance, [2]), w, b, {
        training,
        relu: false,
        eps: 1e-5,
        momentum: 0.1,
      }),
      r,
    );
    return relu ? elementwise.unary('relu', sum) : sum;
  };
  const inputs = [
    { data: randomData(rng, n, { lo: -2, hi: 2 }), shape },
    { data: randomData(rng, 2, { gap: 0.3 }), shape: [2] },
    { data: randomData(rng, 2), shape: [2] },
    { data: randomData(rng, n, { gap: 0.05 }), shape },
  ];
  const gpu = (x: Tensor, w: Tensor, b: Tensor, r: Tensor) =>
    batchNorm(x, tensor(running.mean, [2]), tensor(running.variance, [2]), w, b, { training, relu, residual: r });
  const what = `bn + residual ${JSON.stringify(shape)} training=${training} relu=${relu}`;
  const [x, w, b, r] = inputs.map((i) => tensor(i.data, i.shape));
  const [x64, w64, b64, r64] = inputs.map((i) => nd(i.data, i.shape));
  await expectMatches(gpu(x, w, b, r), reference(x64, w64, b64, r64), what, { rtol: 1e-4, atol: 1e-4 });
  await gradcheck({ name: what, inputs, gpu, reference, rtol: 5e-3 }, rng);
}
