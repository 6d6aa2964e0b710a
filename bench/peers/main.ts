// `npm run bench:peers`: our conv2d and matmul side by side with ONNX Runtime (CPU, WebGPU
// in Node and in its web build), TensorFlow.js on WebGPU and PyTorch (../torch-python.ts picks it) on
// the CPU, all in one process on one adapter; and a training step of the small ResNeXt in
// the engines that train (ours, tfjs, PyTorch). Contenders take turns within each round
// (A, B, C, A, B, C, ...), so drift on this shared 2-core machine hits them all alike.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, TRAINING_BUDGET_S, USAGE, type Options } from './args.js';
import { reason, type Contender, type Runner, type Sample } from './contender.js';
import { installNavigatorGpu } from './dawn.js';
import type { Cell, Results, Row } from './report.js';
import type { TrainingWorkload, Workload } from './workloads.js';

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(`bench:peers: ${reason(e)}\n${USAGE}`);
  process.exit(1);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

installNavigatorGpu(); // before the browser-side peers look for it
// Acquires our device; kept after argument checks so a typo costs nothing.
const { describeAdapter, runtime, shutdown } = await import('../../src/index.js');
const { median } = await import('../../src/bench/conv.js');
const { buildWorkloads, describe, trainingWorkload } = await import('./workloads.js');
const { fmaCeiling, naive, ours } = await import('./ours.js');
const { ortNode, ortWeb } = await import('./ort.js');
const { tfjs } = await import('./tfjs.js');
const { torchCpu, torchMissing } = await import('./torch.js');
const { barChart, Footnotes, gflopsTable, markdown, millisecondsTable, trainingMethod, trainingTable } =
  await import('./report.js');

const all: Contender[] = [ours, naive, fmaCeiling, tfjs(), ortWeb(), ortNode('webgpu'), ortNode('cpu')];
const skipped: string[] = [];
// Looking for torch may make .venv-torch (about 20 s the first time): only when its column is asked for.
const noTorch = options.contenders?.every((w) => !'pytorch-cpu'.includes(w)) ? null : torchMissing();
if (noTorch === null) all.push(torchCpu());
else skipped.push(`PyTorch CPU: skipped (${noTorch}; PYTHON=... picks another interpreter)`);
const slug = (c: Contender) => c.name.toLowerCase().replace(/ /g, '-'); // 'ORT-node CPU' -> 'ort-node-cpu'
const unknown = options.contenders?.filter((w) => !all.some((c) => slug(c).includes(w))) ?? [];
if (unknown.length) {
  console.error(`bench:peers: --contenders ${unknown.join(', ')} matches none of ${all.map(slug).join(', ')}`);
  process.exit(1);
}
const contenders = all.filter(
  (c) => c === ours || !options.contenders || options.contenders.some((w) => slug(c).includes(w)),
);

/** A CPU engine's threads spin for a few ms after a run before they sleep (PyTorch's
 *  libgomp): run next at once, a contender shares the 2 cores with that tail, which took
 *  ours from 7.5 to 11.5 ms on stage 3's forward. A pause before each run lets it end. */
const SETTLE_MS = 50;
const settle = () => new Promise((done) => setTimeout(done, SETTLE_MS));

/**
 * Prepares every contender for the workload (for a training step: those that train), runs
 * the rounds, returns the row. A contender whose timed runs add up to `budgetMs` sits out
 * the rounds left.
 */
async function measure(w: Workload | TrainingWorkload, iterations: number, budgetMs = Infinity): Promise<Row> {
  const cells: Record<string, Cell> = {};
  const prepared: { contender: Contender; runner: Runner; samples: Sample[]; failed: boolean }[] = [];
  const fail = (c: Contender, e: unknown) => (cells[c.name] = { error: `${c.name} failed: ${reason(e)}` });
  for (const contender of w.kind === 'train' ? contenders.filter((c) => c.prepareTraining !== undefined) : contenders) {
    try {
      const runner = await (w.kind === 'train' ? contender.prepareTraining!(w) : contender.prepare(w));
      if (typeof runner === 'string') cells[contender.name] = { error: runner };
      else prepared.push({ contender, runner, samples: [], failed: false });
    } catch (e) {
      fail(contender, e);
    }
  }
  const spent = (samples: Sample[]) => samples.reduce((t, s) => t + s.ms, 0);
  for (let round = 0; round < options.warmup + iterations; round++) {
    for (const entry of prepared.filter((p) => !p.failed && spent(p.samples) < budgetMs)) {
      try {
        await settle();
        const sample = await entry.runner.run();
        if (round >= options.warmup) entry.samples.push(sample);
      } catch (e) {
        fail(entry.contender, e);
        entry.failed = true;
      }
    }
  }
  for (const { contender, runner, samples, failed } of prepared) {
    await Promise.resolve()
      .then(() => runner.dispose())
      .catch(() => undefined);
    if (failed) continue;
    const times = samples.map((s) => s.ms).sort((a, b) => a - b);
    const ms = median(times);
    const flops = runner.flops ?? w.flops;
    const images = w.kind === 'train' ? { imagesPerSecond: (w.batch * 1000) / ms } : {};
    cells[contender.name] = {
      medianMs: ms,
      minMs: times[0],
      wallMedianMs: median(samples.map((s) => s.wallMs).sort((a, b) => a - b)),
      gflops: flops / ms / 1e6,
      samples: times,
      ...images,
    };
  }
  return {
    label: w.label,
    description: describe(w),
    mode: w.mode,
    flops: w.flops,
    ...(w.kind === 'train' && { images: w.batch }),
    cells,
  };
}

const workloads = buildWorkloads(options.shapes, options.modes, options.matmul);
const trainings = options.train ? [trainingWorkload()] : [];
const adapter = describeAdapter(runtime().report);
console.log(`adapter: ${adapter}`);
skipped.forEach((s) => console.log(s));
if (workloads.length)
  console.log(
    `${workloads.length} workloads x ${contenders.length} contenders, ${options.warmup} warm-up + ${options.iterations} timed rounds each`,
  );
if (trainings.length)
  console.log(
    `training: ${options.warmup} warm-up + up to ${options.trainSteps} timed steps per engine (fewer past ${TRAINING_BUDGET_S} s)`,
  );
const started = performance.now();
const rows: Row[] = [];
const training: Row[] = [];
const total = workloads.length + trainings.length;
for (const [i, w] of [...workloads, ...trainings].entries()) {
  const t0 = performance.now();
  const row =
    w.kind === 'train'
      ? await measure(w, options.trainSteps, TRAINING_BUDGET_S * 1000)
      : await measure(w, options.iterations);
  (w.kind === 'train' ? training : rows).push(row);
  const summary = contenders.flatMap((c) => {
    const cell = row.cells[c.name];
    return cell ? [`${c.name} ${'medianMs' in cell ? `${cell.medianMs.toFixed(1)} ms` : 'n/a'}`] : [];
  });
  console.error(
    `  [${i + 1}/${total}] ${w.label} ${w.mode} (${((performance.now() - t0) / 1000).toFixed(1)} s): ${summary.join(' | ')}`,
  );
}

const results: Results = {
  adapter,
  date: new Date().toISOString(),
  warmup: options.warmup,
  iterations: options.iterations,
  contenders: contenders.map((c) => ({ name: c.name, kind: c.kind })),
  rows,
  training,
  trainingSteps: options.trainSteps,
  notes: [...contenders.flatMap((c) => c.notes).filter((n, i, a) => a.indexOf(n) === i), ...skipped],
  seconds: (performance.now() - started) / 1000,
};
const footnotes = new Footnotes();
if (rows.length) {
  console.log(
    `\nGFLOP/s (in parentheses: over ours), median of ${options.iterations} rounds; fwd+bwd = forward + grad-input + grad-weight\n`,
  );
  console.log(gflopsTable(results, footnotes));
  console.log('\nmedian ms\n');
  console.log(millisecondsTable(results, footnotes));
}
if (training.length)
  console.log(`\nTraining, images/s. ${trainingMethod(results)}\n\n${trainingTable(results, footnotes)}`);
console.log(['', ...footnotes.lines, '', ...results.notes.map((n) => `- ${n}`)].join('\n'));
const out = options.out ? resolve(options.out) : fileURLToPath(new URL('out/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(resolve(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(resolve(out, 'results.md'), markdown(results));
writeFileSync(resolve(out, 'chart.svg'), barChart(results));
console.log(
  `\nwrote results.json, results.md (with footnotes for cells without a number, and how each contender ran) and chart.svg to ${out}`,
);

for (const c of contenders) await c.close?.().catch(() => undefined);
await shutdown();
// The peers' runtimes (ONNX Runtime's threads, tfjs's device) keep the event loop alive.
process.exit(0);
