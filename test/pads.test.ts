// padLast's copies, and their sharing inside sharingPads() (a convolution's backward pads
// dy once for grad-input and grad-weight).
import { describe, expect, it } from 'vitest';
import { runtime, tensor, type Tensor } from '../src/index.js';
import { padLast, sharingPads } from '../src/ops/fill.js';
import { randomData, rngFor } from './helpers.js';

/** data's rows of `width` padded with zeros to `size`. */
function paddedRows(data: Float32Array, width: number, size: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / width; r++) {
    out.push(...data.subarray(r * width, (r + 1) * width), ...new Array<number>(size - width).fill(0));
  }
  return out;
}

/** The copy_padded launches body makes. */
function countingPads<T>(body: () => T): { result: T; pads: number } {
  const rt = runtime();
  const launch = rt.launch.bind(rt);
  let pads = 0;
  rt.launch = (op, l) => {
    if (l.kernel === 'fill' && l.entry === 'copy_padded') pads++;
    return launch(op, l);
  };
  try {
    return { result: body(), pads };
  } finally {
    rt.launch = launch;
  }
}

async function expectPadded(t: Tensor, data: Float32Array, width: number, size: number): Promise<void> {
  expect(t.shape.at(-1)).toBe(size);
  expect(Array.from(await t.toArray())).toEqual(paddedRows(data, width, size));
}

describe('padLast', () => {
  const rng = rngFor('pads');
  const data = randomData(rng, 2 * 3 * 7 * 7);

  it('pads rows with zeros, a new copy per call outside sharingPads()', async () => {
    const x = tensor(data, [2, 3, 7, 7]);
    const { result, pads } = countingPads(() => [padLast('test', x, 8), padLast('test', x, 8)]);
    expect(pads).toBe(2);
    for (const p of result) await expectPadded(p, data, 7, 8);
    result[0].dispose();
    await expectPadded(result[1], data, 7, 8);
    expect(padLast('test', x, 7)).toBe(x);
  });

  it('shares one copy per tensor and size inside sharingPads(), also through views', async () => {
    const x = tensor(data, [2, 3, 7, 7]);
    const other = tensor(
      data.map((v) => v + 1),
      [2, 3, 7, 7],
    );
    const { result, pads } = countingPads(() =>
      sharingPads(() => {
        const first = padLast('test', x, 8);
        first.dispose(); // a caller done with its copy leaves the next one whole
        const view = x.view([2, 3, 7, 7]);
        const again = padLast('test', view, 8);
        view.dispose();
        return {
          again,
          wider: padLast('test', x, 12),
          flat: padLast('test', x.view([2, 3, 49]), 52),
          other: padLast('test', other, 8),
        };
      }),
    );
    // x to 8 once, x to 12, x's planes to 52, other to 8: four copies.
    expect(pads).toBe(4);
    await expectPadded(result.again, data, 7, 8);
    await expectPadded(result.wider, data, 7, 12);
    await expectPadded(result.flat, data, 49, 52);
    await expectPadded(
      result.other,
      data.map((v) => v + 1),
      7,
      8,
    );
  });

  it('frees the shared copies when the scope ends, also when it throws', () => {
    const x = tensor(data, [2, 3, 7, 7]);
    const rt = runtime();
    const before = rt.stats().inUseBytes;
    sharingPads(() => {
      padLast('test', x, 8).dispose();
      padLast('test', x, 8).dispose();
    });
    expect(rt.stats().inUseBytes).toBe(before);
    expect(() =>
      sharingPads(() => {
        padLast('test', x, 8).dispose();
        throw new Error('in the body');
      }),
    ).toThrow('in the body');
    expect(rt.stats().inUseBytes).toBe(before);
  });
});
