// padLast's copies, and their sharing inside sharingPads() (a convolution's backward pads
// dy once for grad-input and grad-weight).
import { describe, expect, it } from 'vitest';
import { runtime, tensor, type Tensor } from '../src/index.js';
import { cropLast, padLast, sharingPads } from '../src/ops/fill.js';
import type { Generator } from '../src/random.js';
import { launchesDuring, randomData, rngFor } from './helpers.js';
import { expectCaught } from './mutants.js';

/** data's rows of `width` padded with zeros to `size`. */
function paddedRows(data: Float32Array, width: number, size: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / width; r++) {
    out.push(...data.subarray(r * width, (r + 1) * width), ...new Array<number>(size - width).fill(0));
  }
  return out;
}

/** The padding copies body launches (kernels/fill.wgsl's copy_padded, pad4 and crop4), in all and by entry. */
async function countingPads<T>(body: () => T): Promise<{ result: T; pads: number; entries: Set<string> }> {
  const { result, launched } = await launchesDuring(body);
  const copies = launched.filter((k) => ['fill:copy_padded', 'fill:pad4', 'fill:crop4'].includes(k));
  return { result, pads: copies.length, entries: new Set(copies.map((k) => k.slice('fill:'.length))) };
}

async function expectPadded(t: Tensor, data: Float32Array, width: number, size: number): Promise<void> {
  expect(t.shape.at(-1)).toBe(size);
  expect(Array.from(await t.toArray()), `rows of ${width} padded to ${size}`).toEqual(paddedRows(data, width, size));
}

describe('padLast', () => {
  const rng = rngFor('pads');
  const data = randomData(rng, 2 * 3 * 7 * 7);

  it('pads rows with zeros, a new copy per call outside sharingPads()', async () => {
    const x = tensor(data, [2, 3, 7, 7]);
    const { result, pads } = await countingPads(() => [padLast('test', x, 8), padLast('test', x, 8)]);
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
    const { result, pads } = await countingPads(() =>
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

  it('pads and crops rows of every width and alignment like the reference', async () => {
    const entries = new Set<string>();
    for (let width = 1; width <= 13; width++) {
      const { result, entries: ran } = await countingPads(() => roundTrips(rng, width));
      ran.forEach((e) => entries.add(e));
      await Promise.all(result);
    }
    expect([...entries].sort(), 'every form of the copy ran').toEqual(['copy_padded', 'crop4', 'pad4']);
  });
});

/** Rows of `width` padded to the next vec4s and beyond, and cropped back from rows of whole
 *  vec4s (crop4) and of any width (copy_padded): rows start at every offset mod 4. */
function roundTrips(rng: Generator, width: number): Promise<void>[] {
  const checks: Promise<void>[] = [];
  for (const size of [Math.ceil(width / 4) * 4, Math.ceil(width / 4) * 4 + 4, width + 3]) {
    if (size === width) continue;
    const rows = 1 + rng.int(9);
    const values = randomData(rng, rows * width);
    const padded = padLast('test', tensor(values, [rows, width]), size);
    const back = cropLast('test', padded.view(), width, [rows, width]);
    checks.push(
      (async () => {
        await expectPadded(padded, values, width, size);
        expect(Array.from(await back.toArray()), `rows of ${width} to ${size} and back`).toEqual(Array.from(values));
      })(),
    );
  }
  return checks;
}

describe('a wrong padding copy is caught', () => {
  const mutants: [string, string, string][] = [
    [
      'pad4 that keeps a value past the row',
      'unaligned(lo, hi, s), k < vec4<u32>(copying.n)',
      'unaligned(lo, hi, s), k <= vec4<u32>(copying.n)',
    ],
    ['crop4 that drops the last part-vec4', 'c < (copying.width + 3u) / 4u', 'c < copying.width / 4u'],
    [
      'copy_padded that keeps a value past the row',
      'if (k < copying.n) { v = src[source + k]; }',
      'if (k <= copying.n) { v = src[source + k]; }',
    ],
  ];
  for (const [name, from, to] of mutants) {
    it(name, async () => {
      const rng = rngFor(`mutant ${name}`);
      await expectCaught('fill', from, to, 'rows of', (i) => (i < 13 ? Promise.all(roundTrips(rng, i + 1)) : null));
    });
  }
});
