import { describe, expect, it } from 'vitest';
import { ArgumentError, optim, tensor } from '../src/index.js';
import { sgdStep } from '../src/reference/index.js';
import { assertClose, randomData, rngFor } from './helpers.js';

describe('SGD matches torch.optim.SGD (CPU reference)', () => {
  const settings = [
    { momentum: 0, nesterov: false, weightDecay: 0 },
    { momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
    { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  ];
  for (const s of settings) {
    it(`momentum ${s.momentum}, nesterov ${s.nesterov}, weight decay ${s.weightDecay}: five steps, lr changing`, async () => {
      const rng = rngFor(`sgd ${JSON.stringify(s)}`);
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
      assertClose(await p.toArray(), param, 'parameters after 5 steps', { rtol: 1e-5, atol: 1e-6 });
      if (buffer) assertClose(await opt.buffers[0]!.toArray(), buffer, 'momentum buffer', { rtol: 1e-5, atol: 1e-6 });
    });
  }

  it('rejects a learning rate that is not a positive number', () => {
    const p = tensor([1], [1], { requiresGrad: true });
    for (const lr of [0, -1, NaN]) expect(() => new optim.SGD([p], { lr })).toThrow(ArgumentError);
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/needs a momentum/);
  });
});

describe('learning-rate schedules', () => {
  const base = { baseLr: 0.1, epochs: 10, stepsPerEpoch: 4 };
  it("step: the paper's divide-by-10 at 50% and 75% of the epochs", () => {
    const s = { ...base, kind: 'step' as const };
    expect([0, 19, 20, 31, 32, 39].map((step) => +optim.learningRate(s, step).toPrecision(6))).toEqual([0.1, 0.1, 0.01, 0.01, 0.001, 0.001]);
    expect(optim.learningRate({ ...s, milestones: [2], gamma: 0.5 }, 8)).toBe(0.05);
  });

  it('cosine from the base rate to zero, after a linear warm-up', () => {
    const s = { ...base, kind: 'cosine' as const, warmupEpochs: 1 };
    expect(optim.learningRate(s, 0)).toBeCloseTo(0.025);
    expect(optim.learningRate(s, 3)).toBeCloseTo(0.1);
    expect(optim.learningRate(s, 4)).toBeCloseTo(0.1);
    expect(optim.learningRate(s, 4 + 18)).toBeCloseTo(0.05);
    expect(optim.learningRate(s, 39)).toBeLessThan(0.001);
  });
});
