// The subgroup kernels' planning for every subgroup size an adapter may report, including
// the 32, 64 and 128 no local adapter has (lavapipe gives 4, 8 or 16): pure functions, so
// they are checked here without running the kernels.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runtime } from '../src/index.js';
import { KernelLibrary } from '../src/runtime/kernels.js';
import {
  CONV_WEIGHT_VEC4S,
  convSubgroupTiling,
  isFallback,
  MATMUL_A_PER_LANE,
  MATMUL_SUBGROUP_ROWS,
  matmulRowsPerLane,
  MIN_SUBGROUP_SIZE,
  noticeOnce,
  planSubgroups,
  SUBGROUP_KERNEL_WORKGROUP,
  subgroupsHere,
  whySubgroupsUnavailable,
  type SubgroupAdapter,
} from '../src/ops/subgroup_plan.js';

const SIZES = [4, 8, 16, 32, 64, 128];
/** WebGPU's default maxComputeInvocationsPerWorkgroup: every adapter allows at least this. */
const DEFAULT_MAX_INVOCATIONS = 256;
const adapter = (subgroupSize: number | null, over: Partial<SubgroupAdapter> = {}): SubgroupAdapter => ({
  subgroupSize,
  hasSubgroups: true,
  maxInvocationsPerWorkgroup: DEFAULT_MAX_INVOCATIONS,
  portableKernels: false,
  ...over,
});
/** Taps of the kernels the subgroup convolution takes: 1x1, 1x3, 2x2, 2x3, 3x3. */
const TAPS = [1, 3, 4, 6, 9];
const kernelSource = (name: string) => readFileSync(new URL(`../kernels/${name}.wgsl`, import.meta.url), 'utf8');

describe('every fixed subgroup size from 4 to 128 runs the subgroup kernels', () => {
  for (const SG of SIZES) {
    it(`size ${SG}: whole subgroups per workgroup, weights and rows that fit the kernels' arrays`, () => {
      const plan = planSubgroups(adapter(SG));
      expect(plan).toEqual({ SG, WG: Math.max(SUBGROUP_KERNEL_WORKGROUP, SG) });
      if (isFallback(plan)) return;
      expect(plan.WG % SG, 'a subgroup never straddles two workgroups').toBe(0);
      expect(matmulRowsPerLane(SG), "matmul: each lane's rows of A fit a_mine").toBeLessThanOrEqual(MATMUL_A_PER_LANE);
      for (const taps of TAPS) {
        for (const channelsOut of [1, 4, 8, 16, 64]) {
          const tiling = convSubgroupTiling(SG, taps, channelsOut);
          if (isFallback(tiling)) throw new Error(`conv ${taps} taps, ${channelsOut} channels: ${tiling.fallback}`);
          const what = `${taps} taps, ${channelsOut} output channels per group`;
          expect(tiling.CB * Math.ceil(taps / SG), `${what}: the weights fit wl`).toBeLessThanOrEqual(
            CONV_WEIGHT_VEC4S,
          );
          expect(tiling.CB, what).toBeGreaterThanOrEqual(1);
          expect(tiling.CI_STEP, `${what}: weights shuffled from lanes that exist`).toBeLessThanOrEqual(SG);
        }
      }
      // The measured block counts hold at every size: 4 for 1x1 kernels, 2 for 3x3.
      expect(convSubgroupTiling(SG, 1, 64)).toMatchObject({ CB: 4 });
      expect(convSubgroupTiling(SG, 9, 64)).toMatchObject({ CB: 2, CI_STEP: 1 });
    });
  }

  it('the constants match the kernels that size their arrays by them', () => {
    // WL_MAX sizes the conv forward's weight registers: a literal in the kernel, or generated
    // into its @contract from CONV_WEIGHT_VEC4S (src/ops/conv2d/subgroup.ts). Either way the
    // source as compiled must hold this very size.
    const conv = kernelSource('conv2d_subgroup');
    expect(conv).toContain('var<private> wl: array<vec4<f32>, WL_MAX>;');
    expect(new KernelLibrary().source('conv2d_subgroup')).toContain(`const WL_MAX = ${CONV_WEIGHT_VEC4S}u;`);
    const matmul = kernelSource('matmul_subgroup');
    // ROWS and A_PER_LANE are literals in the kernel, or generated into its @contract from
    // these very constants (src/ops/matmul.ts), which then match by construction.
    if (!/@contract \(.*\bROWS, A_PER_LANE\b/.test(matmul)) {
      expect(matmul).toContain(`const ROWS = ${MATMUL_SUBGROUP_ROWS}u;`);
      expect(matmul).toContain(`const A_PER_LANE = ROWS / ${MATMUL_SUBGROUP_ROWS / MATMUL_A_PER_LANE}u;`);
    }
    expect(MIN_SUBGROUP_SIZE).toBe(4);
  });
});

describe('adapters the subgroup kernels cannot serve fall back to the portable kernels', () => {
  const cases: [string, SubgroupAdapter, RegExp, boolean][] = [
    ['a size that varies (subgroupMinSize != subgroupMaxSize)', adapter(null), /no fixed subgroup size/, true],
    ['a size below 4', adapter(2), /subgroup size 2 is below the 4 lanes/, true],
    [
      'a size that does not divide the workgroup',
      adapter(48),
      /subgroup size 48 does not divide a workgroup of 64/,
      true,
    ],
    [
      'a workgroup of one subgroup past the adapter limit',
      adapter(128, { maxInvocationsPerWorkgroup: 64 }),
      /exceeds the adapter's maxComputeInvocationsPerWorkgroup of 64/,
      true,
    ],
    ['no subgroups at all (quietly)', adapter(null, { hasSubgroups: false }), /no 'subgroups' feature/, false],
    ['portable kernels asked for (quietly)', adapter(8, { portableKernels: true }), /RESNEXT_KERNELS=portable/, false],
  ];
  for (const [name, a, reason, notice] of cases) {
    it(name, () => {
      const plan = planSubgroups(a);
      expect(isFallback(plan) && plan.fallback).toMatch(reason);
      expect(isFallback(plan) && plan.notice).toBe(notice);
    });
  }
});

describe('on this adapter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the launch is the plan for its reported size, or the reason there is none', () => {
    const launch = subgroupsHere();
    const why = whySubgroupsUnavailable();
    expect(launch === null, `launch ${JSON.stringify(launch)}, reason ${why}`).toBe(why !== null);
    if (launch) expect(launch.SG).toBe(runtime().report.subgroupSize);
  });

  it('a fallback notice is printed once per process, however often the kernels are planned', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    for (let i = 0; i < 3; i++)
      noticeOnce(
        'test notice: subgroup size 3 is below the 4 lanes the subgroup kernels need; using the portable kernels',
      );
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/^resnext-webgpu: test notice/);
  });
});
