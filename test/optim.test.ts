import { describe, expect, it } from 'vitest';
import { ArgumentError, optim, tensor } from '../src/index.js';
import { rngFor } from './helpers.js';
import { checkSgdSteps, SGD_SETTINGS } from './optim-cases.js';

describe('SGD matches torch.optim.SGD (CPU reference)', () => {
  for (const s of SGD_SETTINGS) {
    it(`momentum ${s.momentum}, nesterov ${s.nesterov}, weight decay ${s.weightDecay}: five steps, lr changing`, async () => {
      await checkSgdSteps(s, rngFor(`sgd ${JSON.stringify(s)}`));
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
    expect([0, 19, 20, 31, 32, 39].map((step) => +optim.learningRate(s, step).toPrecision(6))).toEqual([
      0.1, 0.1, 0.01, 0.01, 0.001, 0.001,
    ]);
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
