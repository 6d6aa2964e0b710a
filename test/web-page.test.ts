// The web app (web/, `npm run web`) end to end in Chromium on SwiftShader: Vite's dev server
// with its dataset endpoint, the adapter panel, the convolution benchmark, training with a
// loss that falls, checkpoints both ways between the tab and Node in the CLI's format, a
// lost device, and a browser without WebGPU. UPDATE_SCREENSHOT=1 rewrites docs/web.png, the README's screenshot.
// SwiftShader takes seconds per step, so the page trains on a fixed batch of 8 images (one
// step per epoch) and evaluates on 8 test images: a loss that falls there is robust, and a
// broken gradient or update would keep it near ln(10).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, decodeDatasetBundle, encodeDatasetBundle } from '../src/data/dataset-format.js';
import { batches } from '../src/data/loader.js';
import { loadDataset, type Dataset } from '../src/data/datasets.js';
import { Generator, models, optim, parseSafetensors, tensor, tidy } from '../src/index.js';
import { prepareImage } from '../src/data/image-prep.js';
import { classifierInfo, classify, loadClassifier, SHIPPED_MODEL } from '../src/pretrained/classifier.js';
import { readCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { parseCheckpoint } from '../src/train/checkpoint-format.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../src/train/config.js';
import { evaluate } from '../src/train/evaluate.js';
import { sgdStep } from '../src/train/step.js';
import type { BenchBar, PageState, PredictSummary } from '../web/src/hook.js';
import { chromiumPath, launchChromium, listen, openPage, type Served } from './browser/chromium.js';
import { tinyDataset } from './tiny-data.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const STEPS = 6;
/** The page's run: one fixed batch per epoch, so every step's loss is on the same images. */
const SETTINGS = { train: 8, test: 8, batch: 8, epochs: STEPS, warmup: 0, augment: 0, lr: 0.05, seed: 0 };
const chromium = chromiumPath();
if (!chromium) console.warn('web page test skipped: no Chromium found (run `npm run setup`, or set CHROMIUM_PATH)');

/** window.resnextPage.<member>(...args) in the page, or the member itself (ready). */
function hook<T>(page: Page, member: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    (name, rest): unknown => {
      const value = (globalThis as unknown as { resnextPage: Record<string, unknown> }).resnextPage[name];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown)(...rest) : value;
    },
    member,
    args,
  ) as Promise<T>;
}

/** An element's text, or an attribute's value (the test's tsconfig has no DOM types). */
function read(page: Page, selector: string, attribute?: string): Promise<string> {
  const element = `document.querySelector(${JSON.stringify(selector)})`;
  return page.evaluate(
    attribute ? `${element}?.getAttribute(${JSON.stringify(attribute)}) ?? ''` : `${element}?.textContent ?? ''`,
  ) as Promise<string>;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('the dataset bundle the dev server sends the page', () => {
  it("carries the first images of each split and the whole set's statistics", () => {
    const dataset = tinyDataset();
    const sent = decodeDatasetBundle(encodeDatasetBundle(dataset, { train: 10, test: 3 }));
    expect(sent).toMatchObject({
      name: dataset.name,
      shape: dataset.shape,
      classes: dataset.classes,
      mean: dataset.mean,
      std: dataset.std,
      augment: dataset.augment,
    });
    expect([sent.train.count, sent.test.count]).toEqual([10, 3]);
    expect(sent.train.images).toEqual(dataset.train.images.subarray(0, 10 * 64));
    expect(sent.test.labels).toEqual(dataset.test.labels.subarray(0, 3));
    expect(decodeDatasetBundle(encodeDatasetBundle(dataset)).train.count).toBe(dataset.train.count);
  });

  it('rejects other bytes, truncated or corrupt ones with a DatasetError', () => {
    const bytes = encodeDatasetBundle(tinyDataset(), { train: 4, test: 2 });
    const corrupt = bytes.slice();
    corrupt[corrupt.length - 1] ^= 1;
    for (const bad of [new Uint8Array(3), bytes.subarray(0, bytes.length - 5), corrupt])
      expect(() => decodeDatasetBundle(bad)).toThrow(DatasetError);
  });
});

describe.skipIf(!chromium)(`the web app in Chromium (${chromium})`, () => {
  let vite: ViteDevServer;
  let served: Served & { server: Server };
  let browser: Browser;
  let page: Page;
  let log: string[] = [];
  let dataset: Dataset;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'web-page-'));
    // Middleware mode on a server of our own, so that the system picks the port (Vite's own
    // listen would start at 5173). No file watching and no HMR: an edit to src/ while the
    // test runs would reload the page and lose its state.
    served = await listen((request, response) => vite.middlewares(request, response));
    vite = await createServer({
      configFile: join(root, 'web/vite.config.ts'),
      logLevel: 'warn',
      server: { middlewareMode: true, hmr: false, watch: null },
    });
    browser = await launchChromium();
    dataset = await loadDataset('fashion-mnist', { cacheDir: join(root, '.cache') });
    // The picture panel classifies with the shipped model, which the dev server sends by
    // default; named here so that the test reads the same file.
    process.env.RESNEXT_WEB_MODEL = join(root, SHIPPED_MODEL);
  }, 180_000);

  afterAll(async () => {
    const notes = log.filter((line) => !line.startsWith('debug:'));
    if (notes.length) console.log(`page console:\n${notes.join('\n')}`);
    await browser?.close();
    await served?.close();
    await vite?.close();
    delete process.env.RESNEXT_WEB_MODEL;
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('starts on SwiftShader and shows the adapter', { timeout: 120_000 }, async () => {
    const query = new URLSearchParams(Object.entries(SETTINGS).map(([k, v]) => [k, String(v)]));
    ({ page, log } = await openPage(browser, `${served.url}/?${query.toString()}`));
    await page.setViewport({ width: 1280, height: 800 });
    await hook(page, 'ready');
    const state = await hook<PageState>(page, 'state');
    expect(state.adapter?.architecture).toMatch(/swiftshader/i);
    expect(state.adapter?.software).toBe(true);
    expect(state.dataset).toEqual({ name: 'fashion-mnist', train: SETTINGS.train, test: SETTINGS.test });
    const panel = await read(page, '#adapter-info');
    expect(panel).toMatch(/swiftshader/i);
    expect(panel).toMatch(/subgroup sizes/);
    expect(panel).toMatch(/maxStorageBufferBindingSize/);
  });

  it(
    'classifies a picture with the served model as Node does, inverting one on a light ground',
    { timeout: 120_000 },
    async () => {
      const size = 28 * 28;
      const grey = dataset.test.images.subarray(0, size);
      const rgba = (levels: Uint8Array) =>
        Uint8Array.from({ length: 4 * size }, (_, i) => (i % 4 === 3 ? 255 : levels[i >> 2]));
      const asSent = (levels: Uint8Array) => Buffer.from(rgba(levels)).toString('base64');
      const inPage = await hook<PredictSummary>(page, 'predict', asSent(grey), 28, 28);
      const light = await hook<PredictSummary>(page, 'predict', asSent(grey.map((v) => 255 - v)), 28, 28);

      const file = parseSafetensors(await readFile(process.env.RESNEXT_WEB_MODEL!));
      const checkpoint = parseCheckpoint(file, 'model');
      const info = await classifierInfo(checkpoint, file.metadata, 'model');
      const inNode = await classify(
        loadClassifier(checkpoint, info),
        info.dataset,
        prepareImage(rgba(grey), 28, 28, info.dataset).pixels,
        3,
      );
      expect(inPage.inverted).toBe(false);
      expect(light.inverted).toBe(true);
      for (const answer of [inPage, light]) {
        expect(answer.predictions.map((p) => p.label)).toEqual(inNode[0].map((p) => p.label));
        answer.predictions.forEach((p, i) => expect(p.probability).toBeCloseTo(inNode[0][i].probability, 4));
      }
      expect((await hook<PageState>(page, 'state')).classifier).toMatch(/^small_resnext trained on fashion-mnist/);
      expect(await page.$$eval('#predict-results li', (items) => items.length)).toBe(3);
    },
  );

  it('benchmarks grouped convolutions and draws a bar per shape and kernel', { timeout: 180_000 }, async () => {
    const bars = await hook<BenchBar[]>(page, 'bench', { shapes: 2, images: 1, iterations: 2 });
    console.log(`bench: ${bars.map((b) => `${b.shape} ${b.series} ${b.gflops.toFixed(2)}`).join('; ')}`);
    expect(new Set(bars.map((b) => b.shape)).size).toBe(2);
    expect(bars.map((b) => b.series)).toEqual(expect.arrayContaining(['naive', 'backward']));
    for (const bar of bars) expect(bar.gflops).toBeGreaterThan(0);
    expect(await page.$$eval('#bench-chart rect', (rects) => rects.length)).toBeGreaterThanOrEqual(bars.length);
  });

  it(`trains ${STEPS} steps and the loss falls`, { timeout: 300_000 }, async () => {
    const started = Date.now();
    const { losses } = await hook<{ losses: number[] }>(page, 'train', STEPS);
    console.log(
      `${STEPS} steps in ${((Date.now() - started) / 1000).toFixed(1)} s: losses ${losses.map((l) => l.toFixed(3)).join(' ')}`,
    );
    expect(losses).toHaveLength(STEPS);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    // From about ln(10) = 2.3 to well under 1 on lavapipe and SwiftShader alike.
    expect(mean(losses.slice(-3))).toBeLessThan(0.75 * mean(losses.slice(0, 3)));
    const state = await hook<PageState>(page, 'state');
    expect(state.step).toBe(STEPS);
    expect(state.epochs).toHaveLength(STEPS);
    expect(state.checkpointStep).toBe(STEPS);
    expect(await page.$$eval('table.confusion td', (cells) => cells.length)).toBe(100);
  });

  it('saves a checkpoint that Node reads as the CLI does, and evaluates alike', { timeout: 120_000 }, async () => {
    const bytes = Buffer.from(await hook<string>(page, 'checkpoint'), 'base64');
    const file = parseSafetensors(bytes);
    expect(file.metadata.format).toBe('resnext-webgpu checkpoint');
    const path = join(scratch, 'tab.safetensors');
    await writeFile(path, bytes);
    const checkpoint = await readCheckpoint(path);
    expect(checkpoint.position).toMatchObject({ epoch: STEPS, step: STEPS });
    const model = models.MODELS[checkpoint.config.model].create({ numClasses: 10 });
    expect(Object.keys(checkpoint.model).sort()).toEqual(Object.keys(model.stateDict()).sort());
    model.loadStateDict(checkpoint.model, { strict: true });
    expect(checkpoint.momentum.filter(Boolean)).toHaveLength(model.parameters().length);
    const { evaluation } = await hook<PageState>(page, 'state');
    const node = await evaluate(model, dataset, dataset.test, SETTINGS.test);
    expect(node.loss).toBeCloseTo(evaluation!.loss, 3);
    model.dispose();
  });

  // The README's screenshot: rewritten only when asked (UPDATE_SCREENSHOT=1), so that a
  // test run leaves the tree clean; every run checks that the page renders to a real image.
  it('renders to a screenshot (docs/web.png with UPDATE_SCREENSHOT=1)', { timeout: 60_000 }, async () => {
    const png = await page.screenshot({ fullPage: true });
    expect(png.byteLength).toBeGreaterThan(50_000);
    if (process.env.UPDATE_SCREENSHOT) {
      await mkdir(join(root, 'docs'), { recursive: true });
      await writeFile(join(root, 'docs/web.png'), png);
    }
  });

  it('continues a checkpoint the CLI wrote', { timeout: 120_000 }, async () => {
    const { path, loss } = await cliCheckpoint(scratch, dataset);
    const input = await page.$('#checkpoint-load');
    await input!.uploadFile(path);
    await page.waitForFunction(
      () => {
        const state = (globalThis as unknown as { resnextPage: { state(): PageState } }).resnextPage.state();
        return state.step === 1 && state.evaluation !== null;
      },
      { timeout: 100_000, polling: 250 },
    );
    const state = await hook<PageState>(page, 'state');
    expect(state.error).toBeNull();
    expect(state.config?.seed).toBe(3);
    expect(state.evaluation!.loss).toBeCloseTo(loss, 3);
  });

  it('stops on a lost device and offers the last checkpoint', { timeout: 60_000 }, async () => {
    const message = await hook<string>(page, 'loseDevice');
    expect(message).toMatch(/GPU device was lost/);
    expect(await read(page, '#train-error a[download]', 'href')).toMatch(/^blob:/);
    expect(await read(page, '#train-error a[download]')).toMatch(/step 1\b/);
  });

  it('tells a browser without WebGPU what to enable', { timeout: 60_000 }, async () => {
    const bare = await browser.newPage();
    // As source text: what a transpiler makes of a function (helpers it calls) may not run in the page.
    await bare.evaluateOnNewDocument("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined })");
    await bare.goto(`${served.url}/`);
    const outcome = await bare.evaluate(() =>
      (globalThis as unknown as { resnextPage: { ready: Promise<void> } }).resnextPage.ready.then(
        () => 'ready',
        (e: Error) => e.message,
      ),
    );
    expect(outcome).toMatch(/No WebGPU adapter found.*This page needs WebGPU/);
    expect(await read(bare, '#fatal')).toContain(outcome);
    await bare.close();
  });
});

/** A checkpoint as `resnext train` writes one, after a step on the page's batch, and its
 *  test loss on the page's test images as Node evaluates it. */
async function cliCheckpoint(dir: string, dataset: Dataset): Promise<{ path: string; loss: number }> {
  const config: TrainConfig = validateConfig({
    ...DEFAULTS,
    trainLimit: SETTINGS.train,
    testLimit: SETTINGS.test,
    batchSize: SETTINGS.batch,
    epochs: STEPS,
    warmupEpochs: 0,
    augment: false,
    seed: 3,
  });
  const generator = new Generator(config.seed);
  const model = models.MODELS[config.model].create({ numClasses: dataset.classes.length, generator });
  const optimizer = new optim.SGD(model.parameters(), {
    lr: config.lr,
    momentum: config.momentum,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
  });
  const [batch] = batches(dataset, dataset.train, {
    batchSize: config.batchSize,
    train: true,
    augment: false,
    generator,
    limit: config.trainLimit,
  });
  const { loss } = tidy(() => sgdStep(model, optimizer, tensor(batch.x, [batch.size, ...dataset.shape]), batch.labels));
  await loss.item();
  const path = join(dir, 'cli.safetensors');
  await saveCheckpoint(path, config, model, optimizer, { epoch: 1, step: 1, rngState: generator.getState() });
  const evaluation = await evaluate(model, dataset, dataset.test, config.testLimit);
  model.dispose();
  optimizer.buffers.forEach((b) => b?.dispose());
  return { path, loss: evaluation.loss };
}

/** A small_resnext as the shipped model is written (checkpoint format, no optimiser
 *  buffers, the dataset's description in the metadata), with BatchNorm statistics drawn at
 *  random so that the classes' probabilities differ. */
