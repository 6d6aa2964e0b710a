// The conv2d checks must be able to fail: each kernel of the convolution, broken in one
// place, has to be caught by the same helpers the real tests use (mutation.test.ts does
// the same for the other kernels).
import { describe, it } from 'vitest';
import { withConvVariant, type ConvVariant } from '../src/ops/conv2d/index.js';
import { whySubgroupsUnavailable } from '../src/ops/subgroup_plan.js';
import { checkCase, DOWNSAMPLING_CASES, POINTWISE_CASES, randomCase, SAME_CASES } from './conv-cases.js';
import { rngFor } from './helpers.js';
import { expectCaught, sourceOf } from './mutants.js';

describe('a wrong convolution kernel is caught by the conv2d checks', () => {
  // Each mutant's kernel is forced (withConvVariant), so the checks reach it whichever
  // kernel the adapter would pick; a kernel the adapter cannot run is skipped, saying why,
  // rather than left to a check that could never fail.
  const unavailable = whySubgroupsUnavailable();
  const skipped = unavailable ? ` (skipped: ${unavailable})` : '';
  const mutants: [string, string, string, string][] = [
    ['forward that ignores dilation', 'let ih = ih0 + i32(kh * DIL_H);', 'let ih = ih0 + i32(kh);', 'forward'],
    [
      'forward whose vec4 row window starts in the wrong place',
      'let lead = (4u - PAD_W % 4u) % 4u;',
      'let lead = 0u;',
      'forward',
    ],
    [
      'grad-input whose vec4 row window starts in the wrong place',
      'let lead = u32(((i32(PAD_W) - i32((KW - 1u) * DIL_W)) % 4 + 4) % 4);',
      'let lead = 0u;',
      'grad-input',
    ],
    [
      'grad-input that ignores stride gaps',
      'let ok = ow_num >= 0 && ow_num % i32(STRIDE_W) == 0;',
      'let ok = ow_num >= 0;',
      'grad-input',
    ],
    ['strided grad-input whose window takes every tap', 'num % i32(STRIDE_W) == 0);', 'true);', 'grad-input'],
    [
      'grad-weight that drops the last chunk row',
      'let last = min(first + pi.rows_per_chunk, rows);',
      'let last = min(first + pi.rows_per_chunk, rows - 1u);',
      'grad-weight',
    ],
  ];
  for (const [name, from, to, stage] of mutants) {
    it(name, { timeout: 300_000 }, async () => {
      const rng = rngFor(`mutant conv ${name}`);
      const check = (i: number) =>
        i < 40 ? withConvVariant('portable', () => checkCase(randomCase(rng, i), rng, `mutant case ${i}`)) : null;
      await expectCaught('conv2d', from, to, stage, check);
    });
  }
  const subgroupMutants: [string, string, string, string, ConvVariant?][] = [
    [
      'forward whose edge lanes never load their outer neighbour',
      'if (lane == 0u && needs_prev)',
      'if (false)',
      'forward',
    ],
    [
      'an unaligned plane whose last lane misses the value past its own',
      'w.next = vec4<f32>(past_end[s]);',
      'w.next = vec4<f32>(lo[s]);',
      'forward',
    ],
    [
      'an unaligned plane whose first lane misses the values before its own',
      'w.prev = unaligned(outer, lo, s);',
      'w.prev = unaligned(lo, lo, s);',
      'forward',
    ],
    ['forward4 that stores each vec4 one place late', 'plane + q) / 4u] = v', 'plane + q) / 4u + 1u] = v', 'forward'],
    [
      'two-row forward whose second row skips its last kernel row',
      'if (i < r || i - r >= KH) { continue; }',
      'if (i < r || i - r >= KH || i == KH) { continue; }',
      'forward',
      'subgroup-rows',
    ],
    [
      'two-row forward whose last lane never loads the values past its own',
      'lane == 0u || lane == SG - 1u)',
      'lane == 0u)',
      'forward',
      'subgroup-rows',
    ],
    [
      'two-row forward whose invocations start one row apart',
      'return k / row_chunks() * ROWS * WIDTH',
      'return k / row_chunks() * WIDTH',
      'forward',
      'subgroup-rows',
    ],
    [
      'an unaligned plane read one value late',
      'let own = unaligned(lo, hi, s);',
      'let own = unaligned(lo, hi, (s + 1u) & 3u);',
      'forward',
    ],
    [
      'rows above and below taken from lanes past the subgroup',
      'let in_subgroup = source >= 0 && source < i32(SG);',
      'let in_subgroup = true;',
      'forward',
    ],
    [
      'rows below taken from the next lane, not the next row',
      'subgroupShuffleDown(center, u32(d) * lanes_per_row)',
      'subgroupShuffleDown(center, u32(d))',
      'forward',
    ],
    ['grad-input that does not mirror the taps', 'select(t, taps - 1u - t, FLIP)', 't', 'grad-input'],
    ['grad-weight that keeps lane 0 sum only', 'let total = subgroupAdd(gacc[', 'let total = (gacc[', 'grad-weight'],
  ];
  for (const [name, from, to, stage, variant = 'subgroup'] of subgroupMutants) {
    it.skipIf(unavailable)(`subgroup kernel: ${name}${skipped}`, { timeout: 300_000 }, async () => {
      const rng = rngFor(`mutant subgroup conv ${name}`);
      const check = (i: number) =>
        i < SAME_CASES.length
          ? withConvVariant(variant, () => checkCase(SAME_CASES[i], rng, `mutant same case ${i}`))
          : null;
      // The text lives in the kernel or in the input windows it includes.
      const kernel = sourceOf('conv2d_subgroup').includes(from) ? 'conv2d_subgroup' : 'conv2d_window';
      await expectCaught(kernel, from, to, stage, check);
    });
  }
  const laneMutants: [string, string, string][] = [
    [
      'that never adds the sums of rows walked side by side',
      'for (var other = CI_T; other < SG; other *= 2u)',
      'for (var other = SG; other < SG; other *= 2u)',
    ],
    ['whose window does not slide its first vec4', 'win[3u * kh] = win[3u * kh + 1u];', 'win[3u * kh] = vec4<f32>();'],
    [
      "that takes dy from the first part's lanes",
      'subgroupShuffle(dys[c / CI_T], part * CI_T + c % CI_T)',
      'subgroupShuffle(dys[c / CI_T], c % CI_T)',
    ],
    ['whose rows read on past their end', 'if (k < X_WIDTH / 4u && inside)', 'if (inside)'],
    [
      'whose stride-2 window keeps the wrong vec4 before its columns',
      'win[3u * kh] = win[3u * kh + 2u];',
      'win[3u * kh] = win[3u * kh + 1u];',
    ],
  ];
  for (const [name, from, to] of laneMutants) {
    it.skipIf(unavailable)(`grad-weight with lanes on channels ${name}${skipped}`, async () => {
      const rng = rngFor(`mutant wgrad lanes ${name}`);
      const cases = [...SAME_CASES, ...DOWNSAMPLING_CASES];
      const check = (i: number) =>
        i < cases.length ? withConvVariant('wgrad-lanes', () => checkCase(cases[i], rng, `mutant case ${i}`)) : null;
      await expectCaught('conv2d_wgrad_lanes', from, to, 'grad-weight', check);
    });
  }
  const strideMutants: [string, string, string, string][] = [
    [
      'forward whose lane 0 never loads the values before its columns',
      'if (lane == 0u) { before = select(',
      'if (false) { before = select(',
      'forward',
    ],
    [
      'forward that reads every tap one column late',
      'let at = i32(2u * j + kw) - 1;',
      'let at = i32(2u * j + kw);',
      'forward',
    ],
    [
      'grad-input whose last lane never takes the value after its own',
      'if (lane == SG - 1u) { next = outer; }',
      'if (false) { next = outer; }',
      'grad-input',
    ],
    [
      "grad-input that takes the last column's dy from the lane's own",
      'if (c == 7u) { add(i, c, d.next.x, w); }',
      'if (c == 7u) { add(i, c, d.own.w, w); }',
      'grad-input',
    ],
    [
      'grad-input on rows of whole vec4s that stores its second vec4 first',
      'let a = i * 8u + 4u * h;',
      'let a = i * 8u + 4u * (1u - h);',
      'grad-input',
    ],
  ];
  for (const [name, from, to, stage] of strideMutants) {
    it.skipIf(unavailable)(`stride-2 ${name}${skipped}`, async () => {
      const rng = rngFor(`mutant stride2 ${name}`);
      const check = (i: number) =>
        i < DOWNSAMPLING_CASES.length
          ? withConvVariant('stride2', () => checkCase(DOWNSAMPLING_CASES[i], rng, `mutant downsampling case ${i}`))
          : null;
      await expectCaught('conv2d_stride2', from, to, stage, check);
    });
  }
  const productMutants: [string, string, string, string, string][] = [
    [
      "grad-weight that reads a lane's first column of x for its fourth",
      'matmul_subgroup',
      'b3 = b4[b_at + 3u * b_k];',
      'b3 = b4[select(b_at + 3u * b_k, b_at, TRANS_B)];',
      'grad-weight',
    ],
    [
      'grad-weight whose last column vec4 never loads x',
      'matmul_subgroup',
      'if (!TRANS_B || col4 < n4) {',
      'if (!TRANS_B || col4 + 1u < n4) {',
      'grad-weight',
    ],
    [
      'grad-weight whose chunks skip their first image',
      'matmul_subgroup',
      'for (var batch = z * batch_dims.per_output;',
      'for (var batch = z * batch_dims.per_output + min(batch_dims.per_output - 1u, 1u);',
      'grad-weight',
    ],
    [
      'planes padded with one value too many',
      'fill',
      'unaligned(lo, hi, s), k < vec4<u32>(copying.n)',
      'unaligned(lo, hi, s), k <= vec4<u32>(copying.n)',
      'grad-weight',
    ],
  ];
  for (const [name, kernel, from, to, stage] of productMutants) {
    it.skipIf(unavailable)(`1x1 convolution as products: ${name}${skipped}`, async () => {
      const rng = rngFor(`mutant products ${name}`);
      const check = (i: number) =>
        i < POINTWISE_CASES.length
          ? withConvVariant('matmul', () => checkCase(POINTWISE_CASES[i], rng, `mutant pointwise case ${i}`))
          : null;
      await expectCaught(kernel, from, to, stage, check);
    });
  }
  // Each caught at the role named last: the first case's rows (14 wide) are read in place
  // by the forward and grad-input, so a wrong copy shows in grad-weight first.
  const paddedRowMutants: [string, string, string, string, ConvVariant, string][] = [
    [
      'rows padded with one value too many',
      'fill',
      'unaligned(lo, hi, s), k < vec4<u32>(copying.n)',
      'unaligned(lo, hi, s), k <= vec4<u32>(copying.n)',
      'subgroup-padded',
      'grad-weight',
    ],
    [
      "outputs stored with the padded rows' stride",
      'conv2d_subgroup',
      'let at = ((o.n * p.C_out + co) * height + row) * Y_WIDTH + col;',
      'let at = ((o.n * p.C_out + co) * height + row) * WIDTH + col;',
      'subgroup-padded',
      'forward',
    ],
    [
      'rows read in place, the odd ones from the vec4 their values start in alone',
      'conv2d_window',
      'select(lo, vec4<f32>(lo.zw, hi.xy), s == 2)',
      'lo',
      'subgroup-padded',
      'forward',
    ],
    [
      'rows read in place, the columns past them not zeroed',
      'conv2d_window',
      'vec4<i32>(i32(X_WIDTH)));',
      'vec4<i32>(i32(WIDTH)));',
      'subgroup-padded',
      'forward',
    ],
    [
      'two rows whose second is stored over the first',
      'conv2d_subgroup',
      'let row = q0 / WIDTH + r;',
      'let row = q0 / WIDTH;',
      'subgroup-padded-rows',
      'forward',
    ],
  ];
  for (const [name, kernel, from, to, variant, stage] of paddedRowMutants) {
    it.skipIf(unavailable)(`subgroup kernel on padded rows: ${name}${skipped}`, async () => {
      const rng = rngFor('mutant padded rows');
      const cases = SAME_CASES.filter((c) => c.xShape[3] % 4 !== 0 && c.wShape[3] > 1);
      const check = (i: number) =>
        i < cases.length
          ? withConvVariant(variant, () => checkCase(cases[i], rng, `mutant padded-rows case ${i}`))
          : null;
      await expectCaught(kernel, from, to, stage, check);
    });
  }
});
