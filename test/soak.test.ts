// Long-run behaviour: memory stays flat over many steps, and two runs with one seed are
// bit-identical. SOAK_STEPS=n runs longer (default 240 steps, a few seconds here).
import { describe, expect, it } from 'vitest';
import { crossEntropy, Generator, models, optim, runtime, tensor, tidy } from '../src/index.js';

const STEPS = Number(process.env.SOAK_STEPS ?? 240);

/** A tiny ResNeXt trained on random 8x8 images; returns the losses and pool/heap samples. */
async function run(steps: number, seed: number) {
  const rng = new Generator(seed);
  const model = models.smallResnext(
    { blocksPerStage: [1, 1], channels: [16, 32], stemChannels: 8, groupWidth: 2, cardinality: 4, numClasses: 4 },
    { generator: rng },
  );
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const losses: number[] = [];
  const samples: {
    step: number;
    inUse: number;
    allocated: number;
    buffers: number;
    pipelines: number;
    heap: number;
  }[] = [];
  for (let step = 1; step <= steps; step++) {
    const x = Float32Array.from({ length: 8 * 64 }, () => rng.normal());
    const labels = Array.from({ length: 8 }, () => rng.int(4));
    const loss = tidy(() => {
      const l = crossEntropy(model.forward(tensor(x, [8, 1, 8, 8])), labels);
      l.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
    if (step % 40 === 0) {
      (globalThis as { gc?: () => void }).gc?.(); // the live heap, not the collector's timing
      const s = runtime().stats();
      samples.push({
        step,
        inUse: s.inUseBytes,
        allocated: s.allocatedBytes,
        buffers: s.liveBuffers,
        pipelines: s.pipelines,
        heap: process.memoryUsage().heapUsed,
      });
    }
  }
  model.dispose();
  optimizer.buffers.forEach((b) => b?.dispose());
  return { losses, samples };
}

describe('soak', () => {
  it(`${STEPS} training steps: GPU memory, buffers and pipelines flat after warm-up`, async () => {
    const { losses, samples } = await run(STEPS, 1);
    if (process.env.SOAK_STEPS) console.table(samples);
    expect(losses.every(Number.isFinite)).toBe(true);
    const settled = samples.slice(1);
    for (const key of ['inUse', 'allocated', 'buffers', 'pipelines'] as const) {
      expect(
        new Set(settled.map((s) => s[key])).size,
        `${key} per 40 steps: ${settled.map((s) => s[key]).join(',')}`,
      ).toBe(1);
    }
    // The live JS heap (sampled after a collection) must not grow with the steps.
    expect(typeof (globalThis as { gc?: unknown }).gc, 'vitest runs with --expose-gc').toBe('function');
    expect(
      settled.at(-1)!.heap - settled[0].heap,
      `heap per 40 steps: ${settled.map((s) => s.heap).join(',')}`,
    ).toBeLessThan(4 * 2 ** 20);
  }, 600_000);

  it('two runs with the same seed give bit-identical losses (every kernel here is deterministic)', async () => {
    const a = await run(12, 5);
    const b = await run(12, 5);
    expect(b.losses).toEqual(a.losses);
  }, 300_000);
});
