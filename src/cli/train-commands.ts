// `resnext train`, `compare` and `eval`: the commands that train or evaluate a model.
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { TrainConfig } from '../train/config.js';
import { nonNegative, positiveInt, positiveNumber, withEngine } from './args.js';

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
  trainLimit?: number;
  testLimit?: number;
  quick?: boolean;
  out: string;
  resume?: boolean;
  force?: boolean;
  dataDir?: string;
  cacheDir: string;
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
      .option(
        '--quick',
        '2 epochs on the first 4,096 training images, batch 32, no augmentation (the last epoch evaluated on the whole test split): minutes on a CPU adapter',
      )
      .option('--train-limit <n>', 'train on the first n training images only', positiveInt)
      .option(
        '--test-limit <n>',
        'evaluate epochs before the last on the first n test images (the last: all)',
        positiveInt,
      )
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
      trainLimit: flags.trainLimit,
      testLimit: flags.testLimit,
      dataDir: flags.dataDir,
    }).filter(([, v]) => v !== undefined),
  );
  const config = { ...DEFAULTS, ...(flags.quick ? QUICK : {}), ...defined };
  // The default warm-up shortens for runs too short to have it.
  if (flags.warmup === undefined) config.warmupEpochs = Math.min(config.warmupEpochs, config.epochs - 1);
  config.seed += seedOffset;
  return validateConfig(config);
}

function registerTrain(program: Command): void {
  trainOptions(program.command('train'))
    .description('train a model headless on the GPU, with per-epoch evaluation, checkpoints and curves')
    .option('--out <dir>', 'run directory (config, metrics.jsonl, error.svg, loss.svg, last.safetensors)', 'runs/train')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--force', 'start over even if --out holds another run')
    .option('--profile', 'print GPU time per kernel for one training step of this configuration, and exit')
    .option('--retune', "time the convolution kernels afresh, replacing the tuning file's choices for these shapes")
    .action(trainAction);
}

function registerCompare(program: Command): void {
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
}

function registerEval(program: Command): void {
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
}

export function registerTrainCommands(program: Command): void {
  registerTrain(program);
  registerCompare(program);
  registerEval(program);
}

async function profileAction(config: TrainConfig, cacheDir: string): Promise<void> {
  await withEngine(async () => {
    const { profileStep, formatProfile } = await import('../train/profile.js');
    const { MODELS } = await import('../models/index.js');
    const { loadDataset } = await import('../data/datasets.js');
    const dataset = await loadDataset(config.dataset, {
      cacheDir: cacheDir,
      dataDir: config.dataDir,
      log: console.log,
    });
    const model = MODELS[config.model].create({ numClasses: dataset.classes.length });
    const rows = await profileStep(model, dataset.shape, config.batchSize, dataset.classes.length);
    console.log(
      formatProfile(rows, `${config.model} on ${dataset.name}, batch ${config.batchSize}, one training step`),
    );
  });
}

async function trainAction(flags: TrainFlags & { profile?: boolean; retune?: boolean }): Promise<void> {
  const config = await configFrom(flags);
  if (flags.profile) return profileAction(config, flags.cacheDir);
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
    const { epochs, interrupted, started, testSplit } = await train(config, {
      outDir: flags.out,
      resume: flags.resume,
      force: flags.force,
      cacheDir: flags.cacheDir,
      retune: flags.retune,
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
    if (last) {
      const { describeCoverage } = await import('../train/evaluate.js');
      console.log(
        `final test error ${(100 * last.testError).toFixed(2)}% (accuracy ${(100 - 100 * last.testError).toFixed(2)}%) on ${describeCoverage(last.testImages, testSplit ?? last.testImages)}; ${last.imagesPerSecond.toFixed(1)} training images/s`,
      );
    }
    const at = (file: string) => join(flags.out, file);
    console.log(
      `run directory ${flags.out}: curves ${at('error.svg')} and ${at('loss.svg')}, metrics ${at('metrics.jsonl')}, checkpoint ${at('last.safetensors')}`,
    );
  });
}
