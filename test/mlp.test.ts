import { describe, expect, it } from 'vitest';
import { runtime } from '../src/index.js';
import { trainSpiralMlp } from '../src/demo.js';

describe('end to end', () => {
  it('a 2-layer MLP trained on the GPU drives its loss down, with flat GPU memory', async () => {
    const inUse: number[] = [];
    const losses = await trainSpiralMlp({
      steps: 200,
      every: 50,
      onLoss: () => inUse.push(runtime().stats().inUseBytes),
    });
    expect(losses[0]).toBeGreaterThan(1.0); // about ln 3 at the start
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]);
    expect(new Set(inUse.slice(1)).size, `GPU bytes in use per report: ${inUse.join(',')}`).toBe(1);
  });
});
