import { describe, expect, it, vi } from 'vitest';
import {
  add,
  bucketSizeForTest,
  GPUFailure,
  KernelCompileError,
  matmul,
  NoAdapterError,
  relu,
  runtime,
  tensor,
  tidy,
} from './runtime-exports.js';
import { acquireDevice } from '../src/runtime/device.js';
import { awaitGpu } from '../src/runtime/polling.js';
import { settledInUseBytes } from './helpers.js';

describe('runtime', () => {
  it('reports the adapter it runs on', () => {
    const r = runtime().report;
    expect(r.name.length).toBeGreaterThan(0);
    expect(typeof r.software).toBe('boolean');
    expect(r.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });

  it('no adapter: a typed error that says how to install one', async () => {
    const noGpu = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
    await expect(acquireDevice(noGpu)).rejects.toThrow(NoAdapterError);
    await expect(acquireDevice(noGpu)).rejects.toThrow(/npm run setup/);
  });

  it('buckets sizes: powers of two up to 64 KiB, then 64ths of a power of two', () => {
    expect(bucketSizeForTest(1)).toBe(256);
    expect(bucketSizeForTest(1000)).toBe(1024);
    expect(bucketSizeForTest(1 << 16)).toBe(1 << 16);
    expect(bucketSizeForTest((1 << 16) + 1)).toBe((1 << 16) + (1 << 11));
    expect(bucketSizeForTest((1 << 20) + 1)).toBe((1 << 20) + (1 << 15));
    // A ResNet activation (a 56x56 plane of 256 channels, 2 images) fits its bucket exactly.
    expect(bucketSizeForTest(4 * 2 * 256 * 56 * 56)).toBe(4 * 2 * 256 * 56 * 56);
  });

  it('reuses pooled buffers and cached pipelines', async () => {
    const rt = runtime();
    const step = async () => {
      const t = tidy(() => relu(relu(tensor(new Float32Array(1000)))));
      await t.toArray();
      t.dispose();
    };
    await step();
    await step(); // buffers released after the last submit become reusable one submit later
    await settledInUseBytes();
    const before = rt.stats();
    for (let i = 0; i < 20; i++) await step();
    const after = rt.stats();
    expect(after.pipelines).toBe(before.pipelines);
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.inUseBytes).toBe(before.inUseBytes);
  });

  it('records many dispatches per submit and submits only when reading back', async () => {
    const rt = runtime();
    let x = tensor([1, 2, 3]);
    await x.toArray();
    const before = rt.stats();
    for (let i = 0; i < 100; i++) x = add(x, 1);
    expect(rt.stats().submits).toBe(before.submits);
    expect(Array.from(await x.toArray())).toEqual([101, 102, 103]);
    expect(rt.stats().submits - before.submits).toBeLessThanOrEqual(2);
  });

  it('a WGSL compile error names the kernel file and line', async () => {
    const rt = runtime();
    rt.setKernelSource('fill', '// broken on purpose\nfn f() -> u32 { return 1.5; }\n');
    try {
      tensor([1]).clone();
      await expect(rt.sync()).rejects.toThrow(KernelCompileError);
      // Once known, the broken kernel fails at dispatch, before any GPU work.
      expect(() => tensor([1]).clone()).toThrow(/kernels\/fill\.wgsl:2:\d+/);
    } finally {
      rt.setKernelSource('fill', null);
    }
    expect(Array.from(await tensor([7]).clone().toArray())).toEqual([7]);
  });

  it('a WebGPU validation error surfaces as a typed error at the next sync', async () => {
    const rt = runtime();
    // Binding one storage buffer where the kernel expects three is our bug, and must not pass silently.
    rt.dispatch({
      kernel: 'elementwise',
      entry: 'binary',
      buffers: [tensor([1]).buffer('test', 'x')],
      workgroups: [1],
    });
    await expect(rt.sync()).rejects.toThrow(GPUFailure);
    await rt.sync();
  });
});

describe('waiting for the GPU', () => {
  const original = globalThis.setImmediate;
  const deferred = () => {
    let settle!: (ok: boolean) => void;
    const promise = new Promise<string>(
      (resolve, reject) => (settle = (ok) => (ok ? resolve('done') : reject(new Error('lost')))),
    );
    return { promise, settle };
  };

  it("puts Dawn's setImmediate polling on a timer while any wait is pending, and back after the last", async () => {
    const [first, second] = [deferred(), deferred()];
    const waits = [awaitGpu(() => first.promise), awaitGpu(() => second.promise)];
    expect(globalThis.setImmediate).not.toBe(original);
    first.settle(true);
    await expect(waits[0]).resolves.toBe('done');
    expect(globalThis.setImmediate, 'one wait still pending').not.toBe(original);
    second.settle(false);
    await expect(waits[1]).rejects.toThrow('lost');
    expect(globalThis.setImmediate).toBe(original);
    // A callback queued on the timer still runs, with its arguments.
    const ran = await new Promise((resolve) => {
      void awaitGpu(() => new Promise<void>((done) => globalThis.setImmediate(() => done()))).then(() => resolve(true));
    });
    expect(ran).toBe(true);
  });

  it('restores setImmediate when starting the operation throws', () => {
    expect(() =>
      awaitGpu(() => {
        throw new Error('no device');
      }),
    ).toThrow('no device');
    expect(globalThis.setImmediate).toBe(original);
  });

  it('runtime.sync() and reads go through it, and Dawn polls on the timer meanwhile', async () => {
    const x = tensor([1, 2, 3]);
    const m = tensor(new Float32Array(256 * 256).fill(0.5), [256, 256]);
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      // Enough work before the read that Dawn ticks more than once while it waits.
      tidy(() => {
        for (let i = 0; i < 8; i++) matmul(m, m);
      });
      const read = x.toArray();
      expect(globalThis.setImmediate, 'while the read is pending').not.toBe(original);
      expect(Array.from(await read)).toEqual([1, 2, 3]);
      // Dawn's binding queued its device ticks through the swapped setImmediate (a binding
      // that no longer looks it up would spin again, unseen).
      expect(timers.mock.calls.filter(([, ms]) => ms === 1).length, "Dawn's ticks on the 1 ms timer").toBeGreaterThan(
        0,
      );
    } finally {
      timers.mockRestore();
    }
    const sync = runtime().sync();
    expect(globalThis.setImmediate, 'while sync is pending').not.toBe(original);
    await sync;
    expect(globalThis.setImmediate).toBe(original);
    x.dispose();
    m.dispose();
  });

  it('clearImmediate cancels a callback queued on the timer, and still cancels real immediates', async () => {
    const ran: string[] = [];
    const gate = deferred();
    const wait = awaitGpu(() => gate.promise);
    globalThis.clearImmediate(globalThis.setImmediate(() => ran.push('timed')));
    gate.settle(true);
    await wait;
    globalThis.clearImmediate(globalThis.setImmediate(() => ran.push('immediate')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(ran).toEqual([]);
  });
});
