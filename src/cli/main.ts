// The `resnext` command line. Commands load the engine lazily, so --help needs no GPU.
import { join } from 'node:path';
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
async function withEngine(body: (engine: typeof import('../index.js')) => void | Promise<void>): Promise<void> {
  const engine = await import('../index.js');
  try {
    await body(engine);
  } finally {
    await engine.shutdown();
  }
}

/** Where `bench` keeps the autotuner's choices (train keeps them in its --cache-dir). */
const TUNING_CACHE = '.cache/autotune.json';
const program = new Command('resnext')
  .description("ResNeXt on WebGPU: hand-written WGSL kernels, autograd, and the paper's models")
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
    withEngine(({ runtime, describeAdapter }) => {
      const report = runtime().report;
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(`adapter:  ${describeAdapter(report)}`);
        console.log(`features: ${report.features.join(', ')}`);
        console.log(
          `max storage binding: ${report.maxStorageBufferBindingSize} bytes, max buffer: ${report.maxBufferSize} bytes`,
        );
      }
    }),
  );

program
  .command('info')
  .description('per-stage output shape, parameters and multiply-accumulates of a model')
  .argument('<model>', 'model name (resnet50, resnext50_32x4d, resnext29_8x64d, small_resnext, ...)')
  .option('--input <CxHxW>', "input size (default: the model's own, e.g. 3x224x224)")
  .option('--compare <model>', "a second model side by side (the paper's Table 1: resnet50 vs resnext50_32x4d)")
  .option('--json', 'print JSON')
  .action(async (name: string, opts: { input?: string; compare?: string; json?: boolean }) => {
    const { MODEL_NAMES } = await import('../models/names.js');
    for (const n of [name, opts.compare].filter((n): n is string => n !== undefined)) {
      if (!(MODEL_NAMES as readonly string[]).includes(n))
        throw new InvalidArgumentError(`unknown model '${n}'; valid names: ${MODEL_NAMES.join(', ')}`);
    }
    const input = opts.input?.split('x').map(Number);
    if (input && (input.length !== 3 || input.some((d) => !Number.isSafeInteger(d) || d <= 0))) {
      throw new InvalidArgumentError(`--input '${opts.input}' must be CxHxW with positive integers, e.g. 3x224x224`);
    }
    await withEngine(async () => {
      const { modelInfo, formatInfo } = await import('../models/info.js');
      const infos = [name, opts.compare]
        .filter((n): n is string => n !== undefined)
        .map((n) => modelInfo(n as never, input));
      console.log(opts.json ? JSON.stringify(infos, null, 2) : formatInfo(infos));
    });
  });

interface TrainFlags {
  model: string;
  dataset: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: string;
  warmup?: number;
  seed?: number;
  augment?: boolean;
  quick?: boolean;
  out: string;
  resume?: boolean;
  force?: boolean;
  dataDir?: string;
  cacheDir?: string;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative number.`);
  return n;
}

function trainOptions(command: Command): Command {
  return (
    command
      .option('--model <name>', 'model (small_resnext, small_resnet, resnext29_8x64d, ...)', 'small_resnext')
      .option('--dataset <name>', 'fashion-mnist, mnist or cifar10', 'fashion-mnist')
      .option('--epochs <n>', 'epochs', positiveInt)
      .option('--batch-size <n>', 'images per step', positiveInt)
      .option('--lr <rate>', 'base learning rate', positiveNumber)
      .option('--momentum <m>', 'SGD momentum', nonNegative)
      .option('--no-nesterov', 'plain momentum instead of Nesterov')
      .option('--weight-decay <wd>', 'L2 weight decay', nonNegative)
      .option('--schedule <kind>', 'step (divide by 10 at 50% and 75%), cosine or constant')
      .option('--warmup <epochs>', 'linear warm-up epochs', nonNegative)
      .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10))
      // Both spellings, so that neither has a default and --quick's choice stands unless given.
      .option('--augment', 'random crops and flips of the training images (the default, except with --quick)')
      .option('--no-augment', 'train on the images as they are')
      .option('--quick', 'a 3,072-image subset for 2 epochs, batch 32, no augmentation: minutes on a CPU adapter')
      .option('--data-dir <dir>', 'for cifar10: the directory of its binary batches')
      .option('--cache-dir <dir>', "where dataset caches and the autotuner's choices live", '.cache')
  );
}

async function configFrom(flags: TrainFlags, seedOffset = 0) {
  const { DEFAULTS, QUICK, validateConfig } = await import('../train/config.js');
  const defined = Object.fromEntries(
    Object.entries({
      model: flags.model,
      dataset: flags.dataset,
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      lr: flags.lr,
      momentum: flags.momentum,
      nesterov: flags.nesterov,
      weightDecay: flags.weightDecay,
      schedule: flags.schedule,
      warmupEpochs: flags.warmup,
      seed: flags.seed,
      augment: flags.augment,
      dataDir: flags.dataDir,
    }).filter(([, v]) => v !== undefined),
  );
  const config = { ...DEFAULTS, ...(flags.quick ? QUICK : {}), ...defined };
  // The default warm-up shortens for runs too short to have it.
  if (flags.warmup === undefined) config.warmupEpochs = Math.min(config.warmupEpochs, config.epochs - 1);
  config.seed += seedOffset;
  return validateConfig(config);
}

trainOptions(program.command('train'))
  .description('train a model headless on the GPU, with per-epoch evaluation, checkpoints and curves')
  .option('--out <dir>', 'run directory (config, metrics.jsonl, error.svg, loss.svg, last.safetensors)', 'runs/train')
  .option('--resume', 'continue the run in --out from its last checkpoint')
  .option('--force', 'start over even if --out holds another run')
  .option('--profile', 'print GPU time per kernel for one training step of this configuration, and exit')
  .action(async (flags: TrainFlags & { profile?: boolean }) => {
    const config = await configFrom(flags);
    if (flags.profile) {
      await withEngine(async () => {
        const { profileStep, formatProfile } = await import('../train/profile.js');
        const { MODELS } = await import('../models/index.js');
        const { loadDataset } = await import('../data/datasets.js');
        const dataset = await loadDataset(config.dataset, {
          cacheDir: flags.cacheDir,
          dataDir: config.dataDir,
          log: console.log,
        });
        const model = MODELS[config.model].create({ numClasses: dataset.classes.length });
        const rows = await profileStep(model, dataset.shape, config.batchSize, dataset.classes.length);
        console.log(
          formatProfile(rows, `${config.model} on ${dataset.name}, batch ${config.batchSize}, one training step`),
        );
      });
      return;
    }
    // Ctrl-C, from here to the exit: finish the step, write a checkpoint, exit 130 (see interrupt.ts).
    const { interruptOnSigint } = await import('../train/interrupt.js');
    const interrupt = interruptOnSigint();
    await withEngine(async ({ runtime, describeAdapter }) => {
      const { train } = await import('../train/trainer.js');
      const { progressFor } = await import('../train/progress.js');
      console.log(`adapter: ${describeAdapter(runtime().report)}`);
      console.log(
        `training ${config.model} on ${config.dataset} for ${config.epochs} epochs (batch ${config.batchSize}, lr ${config.lr}, ${config.schedule}); run directory ${flags.out}`,
      );
      const { epochs, interrupted, started } = await train(config, {
        outDir: flags.out,
        resume: flags.resume,
        force: flags.force,
        cacheDir: flags.cacheDir,
        log: console.log,
        progress: progressFor(process.stdout, config.batchSize),
        signal: interrupt.signal,
        onFirstStep: interrupt.training,
      });
      if (interrupted) {
        console.log(
          started || flags.resume
            ? `interrupted; continue with: resnext train --out ${flags.out} --resume`
            : 'interrupted before training started',
        );
        process.exitCode = 130;
        return;
      }
      const last = epochs.at(-1);
      if (last)
        console.log(
          `final test error ${(100 * last.testError).toFixed(2)}% (accuracy ${(100 - 100 * last.testError).toFixed(2)}%), ${last.imagesPerSecond.toFixed(1)} training images/s`,
        );
    });
  });

trainOptions(program.command('compare'))
  .description(
    "train a ResNeXt and its ResNet twin under one recipe; one figure of both error curves and a table (the paper's comparison)",
  )
  .option('--models <a,b>', 'the models to compare', 'small_resnext,small_resnet')
  .option('--seeds <k>', 'repeat with k seeds; report mean and spread', positiveInt, 1)
  .option('--out <dir>', 'directory for the runs, compare.svg, compare.md and compare.json', 'runs/compare')
  .action(async (flags: TrainFlags & { models: string; seeds: number }) => {
    const config = await configFrom(flags);
    const { MODEL_NAMES } = await import('../models/names.js');
    const names = flags.models.split(',');
    for (const n of names)
      if (!(MODEL_NAMES as readonly string[]).includes(n))
        throw new InvalidArgumentError(`unknown model '${n}'; valid names: ${MODEL_NAMES.join(', ')}`);
    await withEngine(async () => {
      const { compare } = await import('../train/compare.js');
      const { progressFor } = await import('../train/progress.js');
      const { table } = await compare(names as never, config, {
        outDir: flags.out,
        seeds: flags.seeds,
        cacheDir: flags.cacheDir,
        log: console.log,
        progress: progressFor(process.stdout, config.batchSize),
      });
      console.log(table);
      console.log(`figure: ${join(flags.out, 'compare.svg')}`);
    });
  });

program
  .command('eval')
  .description("evaluate a training checkpoint on its dataset's test split: loss, top-1 error, confusion matrix")
  .requiredOption('--checkpoint <file>', 'a last.safetensors from a run directory')
  .option('--cache-dir <dir>', 'where dataset caches live', '.cache')
  .action(async (opts: { checkpoint: string; cacheDir: string }) =>
    withEngine(async () => {
      const { readCheckpoint } = await import('../train/checkpoint.js');
      const { createModel, evaluate } = await import('../train/trainer.js');
      const { loadDataset } = await import('../data/datasets.js');
      const { Generator } = await import('../random.js');
      const ckpt = await readCheckpoint(opts.checkpoint);
      const dataset = await loadDataset(ckpt.config.dataset, {
        cacheDir: opts.cacheDir,
        dataDir: ckpt.config.dataDir,
        log: console.log,
      });
      const model = createModel(ckpt.config, dataset, new Generator(0));
      model.loadStateDict(ckpt.model, { strict: true });
      const r = await evaluate(model, dataset, dataset.test);
      console.log(
        `${ckpt.config.model} after epoch ${ckpt.position.epoch} on ${dataset.name} test (${dataset.test.count} images): loss ${r.loss.toFixed(4)}, top-1 error ${(100 * r.error).toFixed(2)}%`,
      );
      const width = Math.max(...dataset.classes.map((c) => c.length));
      console.log(`confusion (rows: true class, columns: predicted)`);
      r.confusion.forEach((row, i) =>
        console.log(`${dataset.classes[i].padEnd(width)} ${row.map((v) => String(v).padStart(5)).join('')}`),
      );
    }),
  );

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
  .option('--json <file>', 'also write the results as JSON')
  .option('--profile', 'instead: GPU time per kernel entry for one forward and backward of each shape')
  .action(
    async (opts: {
      shape: string[];
      mode: string;
      warmup: number;
      iterations: number;
      baseline: boolean;
      tune: boolean;
      json?: string;
      profile?: boolean;
    }) => {
      const { DEFAULT_SHAPES, parseShape } = await import('../bench/shapes.js');
      const modes = { forward: ['forward'], backward: ['backward'], both: ['forward', 'backward'] }[opts.mode] as
        ('forward' | 'backward')[] | undefined;
      if (!modes) throw new InvalidArgumentError(`--mode '${opts.mode}' must be forward, backward or both`);
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
        if (opts.tune) runtime().tuning.attach(TUNING_CACHE);
        console.log(`adapter: ${describeAdapter(report)}`);
        if (report.software)
          console.log(
            'note: a CPU adapter runs shaders on the CPU; compare the ratios in this run, not absolute times with a GPU',
          );
        console.log(
          `timing: ${report.features.includes('timestamp-query') ? 'GPU timestamp queries' : 'synchronised wall time'}, median of ${opts.iterations} after ${opts.warmup} warm-up`,
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
    },
  );

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
