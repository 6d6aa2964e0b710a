// abKernel (src/bench/kernel-ab.ts): a kernel source against the built-in one, with every
// timed run on a warm pipeline, and the built-in source restored after.
import { describe, expect, it } from 'vitest';
import { runtime, tensor } from '../src/index.js';
import { abKernel } from '../src/bench/kernel-ab.js';
import { padLast } from '../src/ops/fill.js';
import { randomData, rngFor } from './helpers.js';
import { sourceOf } from './mutants.js';

const rng = rngFor('kernel ab');
const values = randomData(rng, 5 * 7);
const x = tensor(values, [5, 7]);
const pad = () => padLast('test', x, 8);
const padded = async () => Array.from(await pad().toArray());

/** What happens to the runtime during body, in order: swaps, dispatches and timed runs. */
async function eventsOf(body: () => Promise<unknown>): Promise<string[]> {
  const rt = runtime();
  const events: string[] = [];
  const [swap, launch, time] = [rt.setKernelSource.bind(rt), rt.launch.bind(rt), rt.time.bind(rt)];
  rt.setKernelSource = (name, source) => (events.push('swap'), swap(name, source));
  rt.launch = (op, l) => (events.push('launch'), launch(op, l));
  rt.time = (record) => (events.push('time'), time(record));
  try {
    await body();
  } finally {
    Object.assign(rt, { setKernelSource: swap, launch, time });
  }
  return events;
}

describe('abKernel', () => {
  it('times both sources on warm pipelines: after every swap the workload runs before it is timed', async () => {
    const expected = await padded();
    let result = { builtin: 0, candidate: 0, maxDiff: -1 };
    const events = await eventsOf(async () => (result = await abKernel('fill', sourceOf('fill'), pad, 3)));
    expect(result.maxDiff, 'the same source gives the same values').toBe(0);
    expect(result.builtin).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(result.candidate)).toBe(true);
    const timed = events.filter((e) => e === 'time').length;
    expect(timed, 'runs x 2 sources').toBe(6);
    events.forEach((event, i) => {
      if (event !== 'time') return;
      const swapped = events.lastIndexOf('swap', i);
      expect(swapped, 'a swap before every timed run').toBeGreaterThanOrEqual(0);
      expect(events.slice(swapped + 1, i), `the run timed at event ${i} follows an untimed one`).toContain('launch');
    });
    expect(await padded(), 'the built-in kernel is back').toEqual(expected);
  });

  it('reports a candidate that computes something else, and restores the built-in source', async () => {
    const expected = await padded();
    const wrong = sourceOf('fill').replace(
      'unaligned(lo, hi, s), k < vec4<u32>(copying.n)',
      'unaligned(lo, hi, s), k <= vec4<u32>(copying.n)',
    );
    const result = await abKernel('fill', wrong, pad, 2);
    expect(result.maxDiff).toBeGreaterThan(0);
    expect(await padded()).toEqual(expected);
  });
});
