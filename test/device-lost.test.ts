import { describe, expect, it } from 'vitest';
import { add, DeviceLostError, init, runtime, tensor } from '../src/index.js';

describe('a lost device', () => {
  it('turns every later use of its tensors into a DeviceLostError, and init() starts afresh', async () => {
    const x = tensor([1, 2, 3]);
    const lost = runtime().device.lost;
    runtime().device.destroy(); // what a driver reset looks like from here
    await lost;
    await expect(x.toArray()).rejects.toThrow(DeviceLostError);
    expect(() => add(x, 1)).toThrow(DeviceLostError);
    expect(() => tensor([1])).toThrow(/device/);
    await init();
    expect(Array.from(await add(tensor([1, 2]), 1).toArray())).toEqual([2, 3]);
    expect(() => add(x, 1)).toThrow(DeviceLostError);
  });
});
