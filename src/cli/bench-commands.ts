// `resnext bench conv`: grouped-convolution throughput on this machine's adapter.
import { Command, InvalidArgumentError } from 'commander';
import { positiveInt, positiveNumber, TUNING_CACHE, withEngine } from './args.js';

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description("measure kernel throughput on this machine's WebGPU adapter");

  bench
    .command('conv')
    .description('grouped-convolution throughput: ResNeXt-50 (32x4d) shapes by default, vs a naive baseline kernel')
    .option(
      '--shape <N,C,H,W,groups[,k,stride]>',
      'a custom shape (repeatable); replaces the default set',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--mode <mode>', 'forward, backward (grad-input + grad-weight) or both', 'both')
    .option('--warmup <n>', 'untimed runs per kernel (compiles pipelines)', positiveInt, 1)
    .option('--iterations <n>', 'timed runs per kernel', positiveInt, 5)
    .option('--no-baseline', 'skip the naive baseline kernel')
    .option('--no-tune', 'time the default kernel of each shape instead of the fastest the autotuner finds')
    .option('--retune', "time every kernel variant afresh, replacing the tuning file's choices for these shapes")
    .option('--json <file>', 'also write the results as JSON')
    .option('--profile', 'instead: GPU time per kernel entry for one forward and backward of each shape')
    .action(benchConvAction);

  bench
    .command('roofline')
    .description(
      "the least time bench conv's shapes can take on a machine (by default an H200), and how close a measured run comes",
    )
    .option('--tflops <n>', 'peak FP32 rate in TFLOP/s (default: H200 without tensor cores, 67)', positiveNumber)
    .option('--bandwidth <n>', 'memory bandwidth in TB/s (default: H200, 4.8)', positiveNumber)
    .option('--measured <file>', "a 'bench conv --json' file: adds its medians and the fraction of the roofline")
    .action(rooflineAction);
}

async function rooflineAction(opts: { tflops?: number; bandwidth?: number; measured?: string }): Promise<void> {
  const { H200, ROOFLINE_HEADER, shapeBound, rooflineRows } = await import('../bench/roofline.js');
  const { DEFAULT_SHAPES } = await import('../bench/shapes.js');
  const { formatTable } = await import('../bench/conv.js');
  const custom = opts.tflops !== undefined || opts.bandwidth !== undefined;
  const machine = {
    name: custom ? 'the given machine' : H200.name,
    tflops: opts.tflops ?? H200.tflops,
    tbps: opts.bandwidth ?? H200.tbps,
  };
  let measured: MeasuredFile | undefined;
  if (opts.measured) {
    const { readFile } = await import('node:fs/promises');
    try {
      measured = JSON.parse(await readFile(opts.measured, 'utf8')) as MeasuredFile;
    } catch (e) {
      throw new InvalidArgumentError(
        `--measured '${opts.measured}' is not a readable bench conv --json file (${(e as Error).message})`,
      );
    }
  }
  console.log(`roofline of ${machine.name}: ${machine.tflops} TFLOP/s FP32, ${machine.tbps} TB/s`);
  if (measured) console.log(`measured: ${opts.measured}, on ${measured.adapter?.name ?? 'an unnamed adapter'}`);
  const bounds = DEFAULT_SHAPES.map((s) => shapeBound(s, machine));
  console.log(formatTable(ROOFLINE_HEADER, rooflineRows(bounds, measured?.results)));
}

interface MeasuredFile {
  adapter?: { name?: string };
  results: { shape: { label: string }; mode: 'forward' | 'backward'; medianMs: number }[];
}

interface BenchConvOptions {
  shape: string[];
  mode: string;
  warmup: number;
  iterations: number;
  baseline: boolean;
  tune: boolean;
  retune?: boolean;
  json?: string;
  profile?: boolean;
}

async function benchConvAction(opts: BenchConvOptions): Promise<void> {
  const { DEFAULT_SHAPES, parseShape } = await import('../bench/shapes.js');
  const modes = { forward: ['forward'], backward: ['backward'], both: ['forward', 'backward'] }[opts.mode] as
    ('forward' | 'backward')[] | undefined;
  if (!modes) throw new InvalidArgumentError(`--mode '${opts.mode}' must be forward, backward or both`);
  if (opts.retune && !opts.tune)
    throw new InvalidArgumentError("--retune times the tuner's candidates; --no-tune skips them");
  let shapes;
  try {
    shapes = opts.shape.length ? opts.shape.map(parseShape) : DEFAULT_SHAPES;
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  if (opts.profile) {
    await withEngine(async () => {
      const { profileConv } = await import('../bench/conv.js');
      const { formatProfile } = await import('../train/profile.js');
      for (const s of shapes) console.log(`${formatProfile(await profileConv(s), s.label)}\n`);
    });
    return;
  }
  await withEngine(async ({ runtime, describeAdapter }) => {
    const { benchConv, formatTable, TABLE_HEADER, tableRow } = await import('../bench/conv.js');
    const report = runtime().report;
    if (opts.tune) runtime().tuning.attach(TUNING_CACHE, { retime: opts.retune });
    console.log(`adapter: ${describeAdapter(report)}`);
    if (report.software)
      console.log(
        'note: a CPU adapter runs shaders on the CPU; compare the ratios in this run, not absolute times with a GPU',
      );
    console.log(
      `timing: ${report.features.includes('timestamp-query') ? 'GPU timestamp queries' : 'synchronised wall time'}, median of ${opts.iterations} after ${opts.warmup} warm-up${modes.length > 1 ? ', forward and backward taking turns' : ''}`,
    );
    const rows: string[][] = [];
    const results = await benchConv(shapes, {
      modes,
      warmup: opts.warmup,
      iterations: opts.iterations,
      baseline: opts.baseline,
      tune: opts.tune,
      onResult: (r) => {
        rows.push(tableRow(r));
        console.error(`  done: ${r.shape.label} ${r.mode} ${r.medianMs.toFixed(1)} ms`);
      },
    });
    console.log(formatTable(TABLE_HEADER, rows));
    if (opts.json) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(opts.json, JSON.stringify({ adapter: report, results }, null, 2));
      console.log(`wrote ${opts.json}`);
    }
  });
}
