// A kernel change, measured: the built-in source of a kernel (or of a fragment in
// kernels/include/) against a file, in one process, in turns, with warm pipelines
// (src/bench/kernel-ab.ts says why). For example:
//
//   npx tsx bench/kernel-ab.ts --kernel conv2d_subgroup --source my.wgsl --conv forward \
//     --shapes stage3,small --variant subgroup-padded-rows
//   npx tsx bench/kernel-ab.ts --kernel matmul_subgroup --source my.wgsl --matmul 1024x1024x1024
//
// --conv ROLE runs the `bench conv` shapes whose labels contain one of --shapes (default
// all), and each --shape N,C,H,W,groups[,k,stride] (as `bench conv --shape`), through
// forward, grad_input or grad_weight, on --variant where given; --matmul MxKxN runs a
// product. Prints the fastest of --runs (default 12) GPU times of each source and
// the largest difference between their results.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Generator, matmul, randn, ResnextError, shutdown, type Tensor } from '../src/index.js';
import { abKernel } from '../src/bench/kernel-ab.js';
import { DEFAULT_SHAPES, geometryOf, parseShape } from '../src/bench/shapes.js';
import {
  CONV_ROLES,
  convForward,
  convGradInput,
  convGradWeight,
  withConvVariant,
  type ConvRole,
  type ConvVariant,
} from '../src/ops/conv2d/index.js';

const { values } = parseArgs({
  options: {
    kernel: { type: 'string' },
    source: { type: 'string' },
    conv: { type: 'string' },
    shapes: { type: 'string' },
    shape: { type: 'string', multiple: true },
    variant: { type: 'string' },
    matmul: { type: 'string' },
    runs: { type: 'string', default: '12' },
  },
});
if (!values.kernel || !values.source || !values.conv === !values.matmul) {
  console.error(
    'usage: bench/kernel-ab.ts --kernel NAME --source FILE (--conv ROLE [--shapes a,b] [--shape N,C,H,W,g[,k,s]] [--variant V] | --matmul MxKxN) [--runs N]',
  );
  process.exit(2);
}
let source: string;
try {
  source = readFileSync(values.source, 'utf8');
} catch (error) {
  console.error(`--source: cannot read ${values.source}: ${(error as Error).message}`);
  process.exit(2);
}
const runs = Number(values.runs);
const generator = new Generator(0);

/** The workloads asked for, by label. */
function workloads(): [string, () => Tensor][] {
  if (values.matmul) {
    const [M, K, N] = values.matmul.split('x').map(Number);
    const [a, b] = [randn([M, K], { generator }), randn([K, N], { generator })];
    return [[`matmul ${values.matmul}`, () => matmul(a, b)]];
  }
  const role = values.conv as ConvRole;
  if (!CONV_ROLES.includes(role))
    throw new ResnextError(`--conv must be one of ${CONV_ROLES.join(', ')}, got '${values.conv}'`);
  const wanted = values.shapes?.split(',') ?? (values.shape ? [] : ['']);
  const shapes = [
    ...DEFAULT_SHAPES.filter((s) => wanted.some((w) => s.label.includes(w))),
    ...(values.shape ?? []).map(parseShape),
  ];
  return shapes.map((s) => {
    const g = geometryOf(s);
    const x = randn([g.N, g.C_in, g.H, g.W], { generator });
    const w = randn([g.C_out, g.C_in / g.groups, g.kH, g.kW], { generator });
    const dy = randn([g.N, g.C_out, g.H_out, g.W_out], { generator });
    const variant = values.variant as ConvVariant | undefined;
    const once = {
      forward: () => convForward(x, w, null, g, 'conv2d', variant),
      grad_input: () => convGradInput(dy, w, g, variant),
      grad_weight: () => convGradWeight(x, dy, w.shape, g, variant),
    }[role];
    return [`${s.label} ${role}`, variant ? () => withConvVariant(variant, once) : once];
  });
}

console.log(`| workload | built-in ms | ${values.source} ms | built-in / new | max diff |`);
console.log('|---|---|---|---|---|');
try {
  for (const [label, workload] of workloads()) {
    const r = await abKernel(values.kernel, source, workload, runs);
    const row = [
      label,
      r.builtin.toFixed(2),
      r.candidate.toFixed(2),
      (r.builtin / r.candidate).toFixed(3),
      r.maxDiff.toExponential(1),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
} catch (error) {
  // A bad --kernel, --conv or --variant, or a source that does not compile: one line.
  if (!(error instanceof ResnextError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
await shutdown();
