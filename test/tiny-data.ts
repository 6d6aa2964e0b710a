import { Generator } from '../src/index.js';
import type { Dataset, Split } from '../src/data/datasets.js';

export /** Two classes of 1x8x8 images a small network tells apart: bright left half or bright right half. */
function tinyDataset(): Dataset {
  const rng = new Generator(7);
  const split = (count: number): Split => {
    const images = new Uint8Array(count * 64);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 64; p++)
        images[i * 64 + p] = Math.min(255, p % 8 < 4 === (labels[i] === 0) ? 150 + rng.int(100) : rng.int(100));
    }
    return { images, labels, count };
  };
  return {
    name: 'fashion-mnist',
    shape: [1, 8, 8],
    classes: ['left', 'right'],
    train: split(48),
    test: split(16),
    mean: [0.4],
    std: [0.3],
    augment: { pad: 1, flip: false },
  };
}
