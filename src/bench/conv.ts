// `resnext bench conv`: grouped-convolution throughput on the WebGPU adapter, ours against
// a naive kernel (one invocation per output element) kept here as the baseline.
// It runs wherever the engine does (the CLI in Node, the web app in a page): the caller
// has acquired the device.
import { randn } from '../creation.js';
import {
  CONV_ROLES,
  convForward,
  convGradInput,
  convGradWeight,
  convParams,
  tuneConv2d,
  type ConvGeometry,
} from '../ops/conv2d/index.js';
import { grid, runtime, type ProfileRow } from '../runtime/index.js';
import { empty, tidy, type Tensor } from '../tensor.js';
import { geometryOf, type ConvShape } from './shapes.js';

export { DEFAULT_SHAPES, geometryOf, parseShape, type ConvShape } from './shapes.js';

export type Mode = 'forward' | 'backward';

export interface ConvResult {
  shape: ConvShape;
  mode: Mode;
  medianMs: number;
  minMs: number;
  gflops: number;
  gbps: number;
  /** Naive forward median over ours (forward rows only). */
  speedupOverNaive?: number;
  naiveMs?: number;
  /** Backward median over forward median (backward rows only). */
  backwardOverForward?: number;
}

export const forwardFlops = (g: ConvGeometry) =>
  2 * g.N * g.C_out * g.H_out * g.W_out * (g.C_in / g.groups) * g.kH * g.kW;
const bytes = (...counts: number[]) => 4 * counts.reduce((a, b) => a + b, 0);

const NAIVE_WG = 64;

export function naiveForward(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const y = empty([g.N, g.C_out, g.H_out, g.W_out]);
  runtime().launch('bench', {
    kernel: 'conv2d_naive',
    constants: { WG: NAIVE_WG },
    bind: { x, w, y },
    params: convParams(g),
    grid: grid.items(y.size, NAIVE_WG),
  });
  return y;
}

export async function timeRuns(warmup: number, iterations: number, record: () => Tensor[]): Promise<number[]> {
  return (await timeInTurns(warmup, iterations, [record]))[0];
}

/** Like timeRuns for several workloads that take turns, run by run: a burst of other load
 *  on the machine then slows one run of each, and their ratio, not one of them alone. */
export async function timeInTurns(
  warmup: number,
  iterations: number,
  records: readonly (() => Tensor[])[],
): Promise<number[][]> {
  const times = records.map((): number[] => []);
  for (let i = 0; i < warmup + iterations; i++) {
    for (const [j, record] of records.entries()) {
      let outputs: Tensor[] = [];
      const ms = await runtime().time(() => (outputs = tidy(record)));
      outputs.forEach((t) => t.dispose());
      if (i >= warmup) times[j].push(ms);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b));
}

export const median = (sorted: number[]) => (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;

export interface BenchOptions {
  modes: Mode[];
  warmup: number;
  iterations: number;
  baseline: boolean;
  /** Time the kernel variants of each shape first and keep the fastest (the autotuner). */
  tune: boolean;
  onResult?: (r: ConvResult) => void;
}

export async function benchConv(shapes: ConvShape[], options: BenchOptions): Promise<ConvResult[]> {
  const results: ConvResult[] = [];
  for (const s of shapes) {
    const g = geometryOf(s);
    const [x, w, dy] = [
      randn([g.N, g.C_in, g.H, g.W]),
      randn([g.C_out, g.C_in / g.groups, g.kH, g.kW], { std: 0.1 }),
      randn([g.N, g.C_out, g.H_out, g.W_out]),
    ];
    const flops = forwardFlops(g);
    if (options.tune) await tuneConv2d([{ geometry: g, roles: [...CONV_ROLES] }]);
    let forwardMedian: number | undefined;
    // The modes take turns, so the backward / forward ratio is of runs made side by side.
    const timed = await timeInTurns(
      options.warmup,
      options.iterations,
      options.modes.map((mode) =>
        mode === 'forward'
          ? () => [convForward(x, w, null, g)]
          : () => [convGradInput(dy, w, g), convGradWeight(x, dy, w.shape, g)],
      ),
    );
    for (const [i, mode] of options.modes.entries()) {
      const times = timed[i];
      const ms = median(times);
      const moved =
        mode === 'forward' ? bytes(x.size, w.size, dy.size) : bytes(dy.size, w.size, x.size, x.size, dy.size, w.size);
      const result: ConvResult = {
        shape: s,
        mode,
        medianMs: ms,
        minMs: times[0],
        gflops: ((mode === 'forward' ? 1 : 2) * flops) / ms / 1e6,
        gbps: moved / ms / 1e6,
      };
      if (mode === 'forward') {
        forwardMedian = ms;
        if (options.baseline) {
          result.naiveMs = median(await timeRuns(1, Math.min(3, options.iterations), () => [naiveForward(x, w, g)]));
          result.speedupOverNaive = result.naiveMs / ms;
        }
      } else if (forwardMedian !== undefined) result.backwardOverForward = ms / forwardMedian;
      results.push(result);
      options.onResult?.(result);
    }
    [x, w, dy].forEach((t) => t.dispose());
  }
  return results;
}

/** GPU time per kernel entry for one forward and one backward of a shape. */
export async function profileConv(s: ConvShape): Promise<ProfileRow[]> {
  const g = geometryOf(s);
  const [x, w, dy] = [
    randn([g.N, g.C_in, g.H, g.W]),
    randn([g.C_out, g.C_in / g.groups, g.kH, g.kW]),
    randn([g.N, g.C_out, g.H_out, g.W_out]),
  ];
  const once = () =>
    tidy(() => [convForward(x, w, null, g), convGradInput(dy, w, g), convGradWeight(x, dy, w.shape, g)]).forEach((t) =>
      t.dispose(),
    );
  once(); // compiles the pipelines
  await runtime().sync();
  runtime().startProfile();
  once();
  const rows = await runtime().stopProfile();
  [x, w, dy].forEach((t) => t.dispose());
  return rows;
}

export const TABLE_HEADER = [
  'shape (3x3 unless noted)',
  'mode',
  'median ms',
  'min ms',
  'GFLOP/s',
  'GB/s',
  'vs naive',
  'bwd/fwd',
];

export function tableRow(r: ConvResult): string[] {
  const s = r.shape;
  const dims = `N=${s.N} C=${s.C} ${s.H}x${s.W} g${s.groups}${s.k !== 3 ? ` k${s.k}` : ''}${s.stride !== 1 ? ` s${s.stride}` : ''}`;
  return [
    `${s.label}: ${dims}`,
    r.mode,
    r.medianMs.toFixed(2),
    r.minMs.toFixed(2),
    r.gflops.toFixed(1),
    r.gbps.toFixed(1),
    r.speedupOverNaive ? `${r.speedupOverNaive.toFixed(1)}x` : '',
    r.backwardOverForward ? `${r.backwardOverForward.toFixed(2)}x` : '',
  ];
}

/** A Markdown table with padded columns. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
