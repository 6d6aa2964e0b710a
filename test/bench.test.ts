import { describe, expect, it } from 'vitest';
import { benchConv, forwardFlops, geometryOf, naiveForward, parseShape } from '../src/bench/conv.js';
import { H200, rooflineRows, shapeBound } from '../src/bench/roofline.js';
import { parseBuild } from '../bench/torch-python.js';
import { runtime, tensor } from '../src/index.js';
import { empty } from '../src/tensor.js';
import { conv2d as refConv, nd } from '../src/reference/index.js';
import { assertClose, randomData, rngFor } from './helpers.js';

describe('bench conv', () => {
  it('parses custom shapes and rejects malformed ones with a one-line message', () => {
    expect(parseShape('8,128,56,56,32')).toMatchObject({ N: 8, C: 128, H: 56, W: 56, groups: 32, k: 3, stride: 1 });
    expect(parseShape('1,16,9,7,4,5,2')).toMatchObject({ W: 7, k: 5, stride: 2 });
    expect(() => parseShape('8,128')).toThrow(/N,C,H,W,groups/);
    expect(() => parseShape('8,128,56,56,0')).toThrow(/positive integers/);
    expect(() => parseShape('8,-1,56,56,1')).toThrow(/positive integers/);
    expect(() => parseShape('8,10,5,5,3')).toThrow(/groups 3 does not divide C=10/);
  });

  it('counts FLOPs as 2*N*C_out*H_out*W_out*(C_in/groups)*kH*kW', () => {
    expect(forwardFlops(geometryOf(parseShape('8,128,56,56,32')))).toBe(2 * 8 * 128 * 56 * 56 * 4 * 9);
  });

  it("bounds a shape's time on a machine by its FLOPs or its least traffic, whichever takes longer", () => {
    const stage1 = parseShape('8,128,56,56,32');
    const bytes = 4 * (2 * 8 * 128 * 56 * 56 + 128 * 4 * 9); // input and output once, the weights once
    const b = shapeBound(stage1, H200);
    expect([b.flops, b.bytes]).toEqual([2 * 8 * 128 * 56 * 56 * 4 * 9, bytes]);
    expect(b.bound).toBe('memory'); // 9 FLOP/B, under the H200's 14
    expect(b.ms).toBeCloseTo(bytes / 4.8e9, 12);
    const fast = shapeBound(stage1, { name: 'compute-poor', tflops: 0.1, tbps: 4.8 });
    expect([fast.bound, fast.ms]).toEqual(['compute', b.flops / 1e8]);
    const [row] = rooflineRows(
      [b],
      [
        { shape: { label: stage1.label }, mode: 'forward', medianMs: 100 * b.ms },
        { shape: { label: stage1.label }, mode: 'backward', medianMs: 400 * b.ms },
      ],
    );
    expect(row.slice(-2)).toEqual(['1.00%', '0.50%']); // the backward's bound is twice the forward's
  });

  it("names the PyTorch peer's BLAS and oneDNN from torch.__config__.show()", () => {
    const pip = [
      '  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture applications',
      '  - Intel(R) MKL-DNN v3.12.0 (Git Hash 1234)',
      '  - CPU capability usage: AVX512',
      '  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release,',
    ].join('\n');
    expect(parseBuild('2.13.0+cpu', true, pip)).toEqual({
      version: '2.13.0+cpu',
      blas: 'MKL 2024.2',
      onednn: 'oneDNN v3.12.0',
      cpu: 'AVX512',
    });
    const debian = '  - CPU capability usage: AVX2\n  - Build settings: BLAS_INFO=open, LAPACK_INFO=open,';
    expect(parseBuild('1.13.1', false, debian)).toMatchObject({ blas: 'OpenBLAS', onednn: 'no oneDNN', cpu: 'AVX2' });
  });

  it('the naive baseline (kernels/conv2d_naive.wgsl) computes the same convolution', async () => {
    const rng = rngFor('naive');
    for (const text of ['2,8,7,9,4', '1,6,5,5,1,5,2', '3,12,6,6,12,3,1']) {
      const s = parseShape(text);
      const g = geometryOf(s);
      const xd = randomData(rng, s.N * s.C * s.H * s.W);
      const wd = randomData(rng, s.C * (s.C / s.groups) * s.k * s.k);
      const y = naiveForward(tensor(xd, [s.N, s.C, s.H, s.W]), tensor(wd, [s.C, s.C / s.groups, s.k, s.k]), g);
      const spec = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
      assertClose(
        await y.toArray(),
        refConv(nd(xd, [s.N, s.C, s.H, s.W]), nd(wd, [s.C, s.C / s.groups, s.k, s.k]), null, spec).data,
        `naive ${text}`,
        { rtol: 1e-5, atol: 1e-5 },
      );
    }
  });

  it('the FMA ceiling probe (kernels/fma_probe.wgsl) runs exactly LOOPS steps of its twelve chains', async () => {
    // Chain k starts at s + 0.01 k (s = i * 1e-7 for invocation i) and steps a <- 0.999 a + 0.001,
    // so after L steps it holds 1 + (start - 1) * 0.999^L: a probe that skipped or repeated
    // steps (a broken unroll) would sum to something else.
    const [WG, LOOPS, workgroups] = [64, 64, 2];
    const out = empty([WG * workgroups]);
    runtime().dispatch({
      kernel: 'fma_probe',
      constants: { WG, LOOPS },
      buffers: [out.buffer('test', 'out')],
      workgroups: [workgroups],
    });
    const expected = Array.from({ length: WG * workgroups }, (_, i) => {
      let sum = 0;
      for (let k = 0; k < 12; k++) sum += 1 + (i * 1e-7 + 0.01 * k - 1) * 0.999 ** LOOPS;
      return sum;
    });
    assertClose(await out.toArray(), expected, 'fma probe', { rtol: 1e-5, atol: 1e-5 });
  });

  it('times our kernels and the naive baseline on a small shape', async () => {
    const results = await benchConv([parseShape('2,16,9,9,4')], {
      modes: ['forward', 'backward'],
      warmup: 1,
      iterations: 2,
      baseline: true,
      tune: true,
    });
    expect(results.map((r) => r.mode)).toEqual(['forward', 'backward']);
    for (const r of results) {
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
      expect(Number.isFinite(r.gflops) && Number.isFinite(r.gbps)).toBe(true);
    }
    expect(results[0].speedupOverNaive).toBeGreaterThan(0);
    expect(results[1].backwardOverForward).toBeGreaterThan(0);
  });
});
