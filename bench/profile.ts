// GPU time per kernel for one training step of a model: `npx tsx bench/profile.ts small_resnext 64`.
import { models, shutdown } from '../src/index.js';
import type { ModelName } from '../src/models/names.js';
import { formatProfile, profileStep } from '../src/train/profile.js';

const [name = 'small_resnext', batchText = '64'] = process.argv.slice(2);
const batch = Number(batchText);
const { create, input } = models.MODELS[name as ModelName];
const rows = await profileStep(create(), input, batch, 10);
console.log(formatProfile(rows, `${name}, batch ${batch}, one training step`));
await shutdown();
