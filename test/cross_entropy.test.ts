import { describe, it } from 'vitest';
import { crossEntropy, tensor } from '../src/index.js';
import { crossEntropy as refCrossEntropy, nd } from '../src/reference/index.js';
import { expectMatches, gradcheck, randomData, randomDim, rngFor } from './helpers.js';

describe('crossEntropy', () => {
  it('matches the reference over 30 random batch and class counts, large logits included', async () => {
    const rng = rngFor('ce');
    for (let trial = 0; trial < 30; trial++) {
      const rows = randomDim(rng, 70);
      const classes = randomDim(rng, 20);
      const spread = trial % 5 === 0 ? 80 : 4; // large logits test the max-shift
      const d = randomData(rng, rows * classes, { lo: -spread, hi: spread });
      const targets = Array.from({ length: rows }, () => rng.int(classes));
      await expectMatches(
        crossEntropy(tensor(d, [rows, classes]), targets),
        refCrossEntropy(nd(d, [rows, classes]), targets),
        `ce ${rows}x${classes}`,
        { rtol: 1e-5, atol: 1e-5 },
      );
    }
  });

  it('backward passes gradcheck', async () => {
    const rng = rngFor('grad ce');
    for (const [rows, classes] of [
      [1, 1],
      [4, 3],
      [5, 10],
    ]) {
      const targets = Array.from({ length: rows }, () => rng.int(classes));
      await gradcheck(
        {
          name: `ce ${rows}x${classes}`,
          inputs: [{ data: randomData(rng, rows * classes, { lo: -3, hi: 3 }), shape: [rows, classes] }],
          gpu: (x) => crossEntropy(x, targets),
          reference: (x) => refCrossEntropy(x, targets),
        },
        rng,
      );
    }
  });
});
