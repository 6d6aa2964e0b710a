// The convolution benchmark: `resnext bench conv`'s shapes (src/bench/conv.ts) on the
// visitor's GPU. Per shape, a bar for the naive baseline kernel, one for each forward
// variant the autotuner timed (the fastest of three runs each), and one for the backward
// pass on the variants it chose.
import { benchConv, DEFAULT_SHAPES, forwardFlops, geometryOf, type ConvShape } from '../../src/bench/conv.js';
import { tuneConv2d } from '../../src/ops/conv2d/index.js';
import { barChart, type BarGroup } from './bar-chart.js';
import { messageOf } from './dom.js';
import type { BenchBar, BenchRequest } from './hook.js';

const COLORS: Record<string, string> = {
  naive: '#b8b8b8',
  portable: '#9ecae1',
  subgroup: '#3182bd',
  'subgroup-rows': '#08519c',
  'subgroup-padded': '#6baed6',
  matmul: '#31a354',
  forward: '#3182bd',
  backward: '#e6550d',
};

export interface BenchElements {
  button: HTMLButtonElement;
  images: HTMLSelectElement;
  status: HTMLElement;
  chart: HTMLElement;
}

export class BenchPanel {
  private busy = false;

  /** `beforeRun` frees the GPU first (pauses training), so that the timings are its own. */
  constructor(
    private readonly elements: BenchElements,
    defaultImages: number | undefined,
    private readonly beforeRun: () => Promise<void>,
  ) {
    elements.images.value = defaultImages === undefined ? 'cli' : String(defaultImages);
    if (elements.images.value === '')
      elements.images.append(new Option(`N=${defaultImages}`, String(defaultImages), true, true));
    elements.button.addEventListener('click', () => void this.run().catch(() => undefined));
  }

  async run(request: BenchRequest = {}): Promise<BenchBar[]> {
    if (this.busy) throw new Error('the benchmark is already running');
    this.busy = true;
    this.elements.button.disabled = true;
    const chosen = this.elements.images.value;
    const images = request.images ?? (chosen === 'cli' ? undefined : Number(chosen));
    const shapes = DEFAULT_SHAPES.slice(0, request.shapes ?? DEFAULT_SHAPES.length).map((s) =>
      images ? { ...s, N: images } : s,
    );
    const bars: BenchBar[] = [];
    try {
      await this.beforeRun();
      for (const [i, shape] of shapes.entries()) {
        this.elements.status.textContent = `shape ${i + 1} of ${shapes.length}: ${describe(shape)}…`;
        bars.push(...(await benchShape(shape, request.iterations ?? 3)));
        this.draw(bars);
      }
      this.elements.status.textContent = `${shapes.length} shapes, ${images ? `N=${images} images each` : "the CLI's batch sizes"}; GFLOP/s from GPU timestamps where the adapter has them.`;
      return bars;
    } catch (error) {
      this.elements.status.textContent = `the benchmark stopped: ${messageOf(error)}`;
      throw error;
    } finally {
      this.busy = false;
      this.elements.button.disabled = false;
    }
  }

  private draw(bars: BenchBar[]): void {
    const groups = new Map<string, BarGroup>();
    for (const bar of bars) {
      const group = groups.get(bar.shape) ?? { label: bar.shape, bars: [] };
      group.bars.push({ series: bar.series, value: bar.gflops });
      groups.set(bar.shape, group);
    }
    this.elements.chart.innerHTML = barChart([...groups.values()], { unit: 'GFLOP/s', colors: COLORS });
  }
}

const describe = (s: ConvShape): string => `${s.label} (N=${s.N} C=${s.C} ${s.H}x${s.W} g${s.groups})`;

async function benchShape(shape: ConvShape, iterations: number): Promise<BenchBar[]> {
  const g = geometryOf(shape);
  const flops = forwardFlops(g);
  const gflops = (ms: number, passes = 1) => (passes * flops) / ms / 1e6;
  const label = describe(shape);
  // Tuning the forward role first keeps each candidate's time (benchConv's own tuning,
  // which then covers the backward roles, only keeps the winners).
  const timed = await tuneConv2d([{ geometry: g, roles: ['forward'] }]);
  const variants = timed.flatMap((t) =>
    Object.entries(t.ms).map(([series, ms]) => ({ shape: label, series, gflops: gflops(ms) })),
  );
  const [forward, backward] = await benchConv([shape], {
    modes: ['forward', 'backward'],
    warmup: 1,
    iterations,
    baseline: true,
    tune: true,
  });
  return [
    ...(forward.naiveMs ? [{ shape: label, series: 'naive', gflops: gflops(forward.naiveMs) }] : []),
    ...(variants.length ? variants : [{ shape: label, series: 'forward', gflops: forward.gflops }]),
    { shape: label, series: 'backward', gflops: backward.gflops },
  ];
}
