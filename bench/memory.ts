// GPU memory and time of one training step (forward, backward) and of an eval forward,
// per model and batch: `npx tsx bench/memory.ts resnext50_32x4d 2`. The pool keeps what it
// allocates, so its size after a step is the step's peak.
import { crossEntropy, models, randn, runtime, shutdown, tidy } from '../src/index.js';
import type { ModelName } from '../src/models/names.js';

const [name = 'resnext50_32x4d', batchText = '2'] = process.argv.slice(2);
const batch = Number(batchText);
const { create, input } = models.MODELS[name as ModelName];
const model = create();
const parameters = runtime().stats().allocatedBytes;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Runs a step twice (the first compiles its pipelines); returns the pool's size after, less the parameters. */
async function measure(label: string, step: () => unknown): Promise<number> {
  let seconds = 0;
  for (let run = 0; run < 2; run++) {
    const started = performance.now();
    tidy(step);
    await runtime().sync();
    seconds = (performance.now() - started) / 1000;
  }
  const activations = runtime().stats().allocatedBytes - parameters;
  console.log(`${label}: ${seconds.toFixed(1)} s (second run), GPU pool ${mib(activations)} beyond the parameters`);
  return activations;
}

console.log(`${name}, batch ${batch}, input ${input.join('x')}; parameters and buffers: ${mib(parameters)}`);
model.eval();
await measure('eval forward', () => model.forward(randn([batch, ...input])));
model.train();
const training = await measure('training step (forward + backward)', () => {
  const loss = crossEntropy(
    model.forward(randn([batch, ...input])),
    Array.from({ length: batch }, (_, i) => i % 10),
  );
  loss.backward();
});
console.log(`training: about ${mib(training / batch)} of GPU memory per image, plus ${mib(parameters)} for the model`);
await shutdown();
