// GPU time per kernel for one training step of a model: `npx tsx bench/profile.ts small_resnext 64`.
import { crossEntropy, models, randn, runtime, shutdown, tidy } from '../src/index.js';
import type { ModelName } from '../src/models/names.js';

const [name = 'small_resnext', batchText = '64'] = process.argv.slice(2);
const batch = Number(batchText);
const { create, input } = models.MODELS[name as ModelName];
const model = create();
const step = () =>
  tidy(() => {
    crossEntropy(model.forward(randn([batch, ...input])), Array.from({ length: batch }, (_, i) => i % 10)).backward();
  });
step(); // compiles the pipelines
await runtime().sync();
runtime().startProfile();
step();
const rows = await runtime().stopProfile();
const total = rows.reduce((t, r) => t + r.totalMs, 0);
console.log(`${name}, batch ${batch}: ${total.toFixed(1)} ms of GPU time in one training step`);
for (const r of rows) console.log(`${r.totalMs.toFixed(1).padStart(9)} ms ${((100 * r.totalMs) / total).toFixed(1).padStart(5)}%  ${String(r.calls).padStart(4)} calls  ${r.kernel}`);
await shutdown();
