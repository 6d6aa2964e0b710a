// The `resnext` command line. Commands load the engine lazily, so --help needs no GPU.
import { Command, CommanderError, InvalidArgumentError } from 'commander';

process.env.XDG_RUNTIME_DIR ??= '/tmp';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive integer.`);
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive number.`);
  return n;
}

/** Runs a command body with the engine loaded, and always releases the device after. */
async function withEngine(body: (engine: typeof import('../index.js')) => Promise<void>): Promise<void> {
  const engine = await import('../index.js');
  try {
    await body(engine);
  } finally {
    await engine.shutdown();
  }
}

const program = new Command('resnext')
  .description('ResNeXt on WebGPU: hand-written WGSL kernels, autograd, and the paper\'s models')
  .showHelpAfterError('(run resnext --help for usage)')
  .exitOverride();

program
  .command('demo')
  .description('train a 2-layer MLP on three spirals, all on the GPU, and print the falling loss')
  .option('--steps <n>', 'gradient steps', positiveInt, 300)
  .option('--lr <rate>', 'learning rate', positiveNumber, 1)
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 0)
  .action(async (opts: { steps: number; lr: number; seed: number }) =>
    withEngine(async ({ runtime, describeAdapter }) => {
      const { trainSpiralMlp } = await import('../demo.js');
      console.log(`adapter: ${describeAdapter(runtime().report)}`);
      console.log(`training a 2-64-3 MLP on 300 spiral points for ${opts.steps} steps`);
      const started = performance.now();
      const losses = await trainSpiralMlp({
        ...opts,
        onLoss: (step, loss) => console.log(`step ${String(step).padStart(4)}  loss ${loss.toFixed(4)}`),
      });
      const seconds = (performance.now() - started) / 1000;
      console.log(`loss ${losses[0].toFixed(4)} -> ${losses.at(-1)!.toFixed(4)} in ${seconds.toFixed(1)} s`);
    }),
  );

program
  .command('device')
  .description('print the WebGPU adapter this machine provides, its features and limits')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) =>
    withEngine(async ({ runtime, describeAdapter }) => {
      const report = runtime().report;
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(`adapter:  ${describeAdapter(report)}`);
        console.log(`features: ${report.features.join(', ')}`);
        console.log(`max storage binding: ${report.maxStorageBufferBindingSize} bytes, max buffer: ${report.maxBufferSize} bytes`);
      }
    }),
  );

program
  .command('info')
  .description('per-stage output shape, parameters and multiply-accumulates of a model')
  .argument('<model>', 'model name (resnet50, resnext50_32x4d, resnext29_8x64d, small_resnext, ...)')
  .option('--input <CxHxW>', "input size (default: the model's own, e.g. 3x224x224)")
  .option('--compare <model>', 'a second model side by side (the paper\'s Table 1: resnet50 vs resnext50_32x4d)')
  .option('--json', 'print JSON')
  .action(async (name: string, opts: { input?: string; compare?: string; json?: boolean }) => {
    const { MODEL_NAMES } = await import('../models/names.js');
    for (const n of [name, opts.compare].filter((n): n is string => n !== undefined)) {
      if (!(MODEL_NAMES as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown model '${n}'; valid names: ${MODEL_NAMES.join(', ')}`);
    }
    const input = opts.input?.split('x').map(Number);
    if (input && (input.length !== 3 || input.some((d) => !Number.isSafeInteger(d) || d <= 0))) {
      throw new InvalidArgumentError(`--input '${opts.input}' must be CxHxW with positive integers, e.g. 3x224x224`);
    }
    await withEngine(async () => {
      const { modelInfo, formatInfo } = await import('../models/info.js');
      const infos = [name, opts.compare].filter((n): n is string => n !== undefined).map((n) => modelInfo(n as never, input));
      console.log(opts.json ? JSON.stringify(infos, null, 2) : formatInfo(infos));
    });
  });

const bench = program.command('bench').description('measure kernel throughput on this machine\'s WebGPU adapter');

bench
  .command('conv')
  .description('grouped-convolution throughput: ResNeXt-50 (32x4d) shapes by default, vs a naive baseline kernel')
  .option('--shape <N,C,H,W,groups[,k,stride]>', 'a custom shape (repeatable); replaces the default set', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('--mode <mode>', 'forward, backward (grad-input + grad-weight) or both', 'both')
  .option('--warmup <n>', 'untimed runs per kernel (compiles pipelines)', positiveInt, 1)
  .option('--iterations <n>', 'timed runs per kernel', positiveInt, 5)
  .option('--no-baseline', 'skip the naive baseline kernel')
  .option('--json <file>', 'also write the results as JSON')
  .action(async (opts: { shape: string[]; mode: string; warmup: number; iterations: number; baseline: boolean; json?: string }) => {
    const { DEFAULT_SHAPES, parseShape } = await import('../../bench/shapes.js');
    const modes = { forward: ['forward'], backward: ['backward'], both: ['forward', 'backward'] }[opts.mode] as ('forward' | 'backward')[] | undefined;
    if (!modes) throw new InvalidArgumentError(`--mode '${opts.mode}' must be forward, backward or both`);
    let shapes;
    try {
      shapes = opts.shape.length ? opts.shape.map(parseShape) : DEFAULT_SHAPES;
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
    await withEngine(async ({ runtime, describeAdapter }) => {
      const { benchConv, formatTable, TABLE_HEADER, tableRow } = await import('../../bench/conv.js');
      const report = runtime().report;
      console.log(`adapter: ${describeAdapter(report)}`);
      if (report.software) console.log('note: a CPU adapter runs shaders on the CPU; compare the ratios in this run, not absolute times with a GPU');
      console.log(`timing: ${report.features.includes('timestamp-query') ? 'GPU timestamp queries' : 'synchronised wall time'}, median of ${opts.iterations} after ${opts.warmup} warm-up`);
      const rows: string[][] = [];
      const results = await benchConv(shapes, {
        modes,
        warmup: opts.warmup,
        iterations: opts.iterations,
        baseline: opts.baseline,
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
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof InvalidArgumentError) {
    console.error(`resnext: ${error.message}`);
    process.exitCode = 1;
  } else if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else {
    const { ResnextError } = await import('../errors.js');
    if (!(error instanceof ResnextError)) throw error;
    console.error(`resnext: ${error.message}`);
    process.exitCode = 1;
  }
}
