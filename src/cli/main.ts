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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else {
    const { ResnextError } = await import('../errors.js');
    if (!(error instanceof ResnextError)) throw error;
    console.error(`resnext: ${error.message}`);
    process.exitCode = 1;
  }
}
