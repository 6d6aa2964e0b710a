// The paper's Figure 3: with the same weights, (a) split-transform-merge (C separate paths
// summed), (b) early concatenation, and (c) grouped convolution are one block. Checked on
// the output and on every gradient.
import { describe, expect, it } from 'vitest';
import { add, cat, conv2d, narrow, relu, sum, tensor, mul, type Tensor } from '../src/index.js';
import { assertClose, randomData, rngFor } from './helpers.js';

const CARDINALITY = 4;
const WIDTH = 2; // bottleneck width d
const CHANNELS = 8;

type Weights = { w1: Tensor; w2: Tensor; w3: Tensor };

/** (c): 1x1 conv to C*d channels, grouped 3x3, 1x1 back, plus the shortcut. */
function grouped(x: Tensor, { w1, w2, w3 }: Weights): Tensor {
  const h = relu(conv2d(relu(conv2d(x, w1)), w2, null, { padding: 1, groups: CARDINALITY }));
  return add(conv2d(h, w3), x);
}

/** One path i: its own d-channel slice of the first two layers. */
function pathHead(x: Tensor, { w1, w2 }: Weights, i: number): Tensor {
  const w1i = narrow(w1, 0, i * WIDTH, WIDTH);
  const w2i = narrow(w2, 0, i * WIDTH, WIDTH);
  return relu(conv2d(relu(conv2d(x, w1i)), w2i, null, { padding: 1 }));
}

/** (a): C paths, each ending in its own 1x1 conv, summed. */
function splitTransformMerge(x: Tensor, weights: Weights): Tensor {
  let out = x;
  for (let i = 0; i < CARDINALITY; i++)
    out = add(out, conv2d(pathHead(x, weights, i), narrow(weights.w3, 1, i * WIDTH, WIDTH)));
  return out;
}

/** (b): the paths' heads concatenated, then one 1x1 conv. */
function earlyConcatenation(x: Tensor, weights: Weights): Tensor {
  const heads = Array.from({ length: CARDINALITY }, (_, i) => pathHead(x, weights, i));
  return add(conv2d(cat(heads, 1), weights.w3), x);
}

describe("ResNeXt block forms (the paper's Figure 3) agree", () => {
  it('same output and same gradients for x and all weights', async () => {
    const rng = rngFor('block forms');
    const xShape = [2, CHANNELS, 5, 7];
    const data = {
      x: randomData(rng, 2 * CHANNELS * 35),
      w1: randomData(rng, CARDINALITY * WIDTH * CHANNELS),
      w2: randomData(rng, CARDINALITY * WIDTH * WIDTH * 9),
      w3: randomData(rng, CHANNELS * CARDINALITY * WIDTH),
    };
    const upstream = randomData(rng, 2 * CHANNELS * 35);
    const results = [];
    for (const form of [grouped, splitTransformMerge, earlyConcatenation]) {
      const x = tensor(data.x, xShape, { requiresGrad: true });
      const weights = {
        w1: tensor(data.w1, [CARDINALITY * WIDTH, CHANNELS, 1, 1], { requiresGrad: true }),
        w2: tensor(data.w2, [CARDINALITY * WIDTH, WIDTH, 3, 3], { requiresGrad: true }),
        w3: tensor(data.w3, [CHANNELS, CARDINALITY * WIDTH, 1, 1], { requiresGrad: true }),
      };
      const y = form(x, weights);
      sum(mul(y, tensor(upstream, xShape))).backward();
      results.push({
        name: form.name,
        y: await y.toArray(),
        grads: await Promise.all([x, weights.w1, weights.w2, weights.w3].map((t) => t.grad!.toArray())),
      });
    }
    const [c, ...others] = results;
    expect(c.y.some((v) => v !== 0)).toBe(true);
    for (const other of others) {
      assertClose(other.y, c.y, `${other.name} output vs grouped`, { rtol: 1e-5, atol: 1e-5 });
      ['x', 'w1', 'w2', 'w3'].forEach((name, k) =>
        assertClose(other.grads[k], c.grads[k], `${other.name} d/d${name} vs grouped`, { rtol: 1e-5, atol: 1e-5 }),
      );
    }
  });
});
