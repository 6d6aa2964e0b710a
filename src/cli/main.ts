// The `resnext` command line. Commands load the engine lazily, so --help needs no GPU.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { positiveInt, positiveNumber, withEngine } from './args.js';
import { registerBenchCommands } from './bench-commands.js';
import { registerExportCommand } from './export-command.js';
import { registerPredictCommand } from './predict-command.js';
import { registerTrainCommands } from './train-commands.js';

process.env.XDG_RUNTIME_DIR ??= '/tmp';

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

registerTrainCommands(program);
registerBenchCommands(program);
registerExportCommand(program);
registerPredictCommand(program);

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
